from django.urls import path

from stampcard.wallet import views

# The card_token kwarg sends these URLs through the customer door (tenancy.middleware).
app_name = "wallet"
urlpatterns = [
    path("c/<str:card_token>/pass.pkpass", views.apple_pass, name="apple_pass"),
]
