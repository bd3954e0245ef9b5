from django.urls import path

from stampcard.wallet import views

# The card_token / voucher_token kwargs send these URLs through the customer door
# (tenancy.middleware).
app_name = "wallet"
urlpatterns = [
    path("c/<str:card_token>/pass.pkpass", views.apple_pass, name="apple_pass"),
    path("v/<str:voucher_token>/pass.pkpass", views.apple_voucher_pass, name="apple_voucher_pass"),
]
