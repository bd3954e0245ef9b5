from django.apps import AppConfig


class CustomerConfig(AppConfig):
    name = "stampcard.customer"
    label = "customer"
    verbose_name = "Customer pages"
