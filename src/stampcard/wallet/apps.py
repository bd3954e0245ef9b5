from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "stampcard.wallet"

    def ready(self) -> None:
        from stampcard.wallet import checks  # noqa: F401  registers the system check
