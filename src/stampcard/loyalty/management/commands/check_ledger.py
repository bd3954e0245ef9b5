from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from stampcard.loyalty.selectors import cards_out_of_balance


class Command(BaseCommand):
    help = "Check that every card's counters equal its stamp ledger, across all businesses."

    def handle(self, *args: object, **options: object) -> None:
        with scopes_disabled():
            bad = list(cards_out_of_balance().values_list("business__slug", "code")[:50])
        if bad:
            listed = ", ".join(f"{slug}/{code}" for slug, code in bad)
            raise CommandError(f"Cards whose counters disagree with their ledger: {listed}")
        self.stdout.write(self.style.SUCCESS("Every card's counters equal its ledger."))
