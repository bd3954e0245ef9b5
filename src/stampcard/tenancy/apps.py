from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "stampcard.tenancy"
