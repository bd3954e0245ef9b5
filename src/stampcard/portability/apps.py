from django.apps import AppConfig


class PortabilityConfig(AppConfig):
    name = "stampcard.portability"
    verbose_name = "Export and import of a business"
