from django.urls import path

from stampcard.wallet import google_views, views

# The card_token / voucher_token kwargs send these URLs through the customer door
# (tenancy.middleware).
app_name = "wallet"
urlpatterns = [
    path("c/<str:card_token>/pass.pkpass", views.apple_pass, name="apple_pass"),
    path("c/<str:card_token>/google", views.google_card_save, name="google_card_save"),
    # Google Wallet's calls: signed callbacks, and the images its passes show.
    path("wallet/google/callback", google_views.google_callback, name="google_callback"),
    path("wallet/google/hero/<str:name>.png", google_views.google_hero, name="google_hero"),
    path("wallet/google/logo/<str:name>.png", google_views.google_logo, name="google_logo"),
    path(
        "wallet/google/voucher/<str:name>.png",
        google_views.google_voucher_hero,
        name="google_voucher_hero",
    ),
    path("v/<str:voucher_token>/pass.pkpass", views.apple_voucher_pass, name="apple_voucher_pass"),
    path("v/<str:voucher_token>/google", views.google_voucher_save, name="google_voucher_save"),
    path(
        "c/<str:card_token>/v/<int:voucher_id>/google",
        views.google_card_voucher_save,
        name="google_card_voucher_save",
    ),
]
