from django.core.management.base import BaseCommand

from stampcard.wallet.signing import signing_material


class Command(BaseCommand):
    help = (
        "Check the certificates that sign Apple Wallet passes and show them; on a local box "
        "without APPLE_PASS_CERT, make the development chain (once)."
    )

    def handle(self, *args: object, **options: object) -> None:
        material = signing_material()
        expires = material.certificate.not_valid_after_utc.date().isoformat()
        self.stdout.write(
            f"Apple passes signed by {material.certificate.subject.rfc4514_string()} "
            f"(until {expires}), issued by {material.wwdr.subject.rfc4514_string()}"
        )
