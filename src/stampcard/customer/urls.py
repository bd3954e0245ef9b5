from django.urls import path

from stampcard.customer import claims, views

# Join pages: the program door (customer.doors). Card pages: the card_token kwarg sends them
# through the customer door (tenancy.middleware). The join URL is loyalty.links.join_path.
app_name = "customer"
urlpatterns = [
    path("j/<slug:slug>/<int:program_id>/", views.join, name="join"),
    path("j/<slug:slug>/<int:program_id>/back/", views.return_request, name="return_request"),
    path("j/<slug:slug>/<int:program_id>/code/", views.return_code, name="return_code"),
    path(
        "j/<slug:slug>/<int:program_id>/back/<str:token>/",
        views.return_link,
        name="return_link",
    ),
    # A card handed over at the counter (customer.hand_over): a QR staff show, used once.
    path(
        "j/<slug:slug>/<int:program_id>/h/<str:token>/",
        views.hand_over,
        name="hand_over",
    ),
    path("c/<str:card_token>/", views.card, name="card"),
    path("c/<str:card_token>/v/<int:voucher_id>/", views.voucher, name="voucher"),
    path(
        "c/<str:card_token>/v/<int:voucher_id>/picture",
        views.voucher_picture,
        name="voucher_picture",
    ),
    path("c/<str:card_token>/theme.css", views.theme, name="theme"),
    path("c/<str:card_token>/manifest.webmanifest", views.manifest, name="manifest"),
    path("c/<str:card_token>/sw.js", views.service_worker, name="service_worker"),
    path("c/<str:card_token>/icon-<int:size>.png", views.icon, name="icon"),
    # Printed claim codes (loyalty.links.claim_path), then their claim under the join page.
    path("k/<slug:slug>/", claims.claim_start, name="claim_start"),
    path("k/<slug:slug>/<str:code>/", claims.claim_start, name="claim_code"),
    path("j/<slug:slug>/<int:program_id>/k/<str:code>/", claims.claim, name="claim"),
]
