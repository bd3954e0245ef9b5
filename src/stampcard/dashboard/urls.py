from django.urls import path

from stampcard.dashboard import claims, views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("b/<slug:business_slug>/", views.business, name="business"),
    path(
        "b/<slug:business_slug>/programs/<int:program_id>/",
        views.program_detail,
        name="program",
    ),
    path("b/<slug:business_slug>/cards/<str:card_code>/", views.card_detail, name="card"),
    path(
        "b/<slug:business_slug>/vouchers/<int:voucher_id>/",
        views.voucher_detail,
        name="voucher",
    ),
    path("b/<slug:business_slug>/audit/", views.audit_trail, name="audit"),
    path("b/<slug:business_slug>/claims/", claims.claim_batches, name="claim_batches"),
    path(
        "b/<slug:business_slug>/claims/<int:batch_id>/sheet.pdf",
        claims.claim_sheet,
        name="claim_sheet",
    ),
    path(
        "b/<slug:business_slug>/claims/<int:batch_id>/codes.csv",
        claims.claim_csv,
        name="claim_csv",
    ),
    path("b/<slug:business_slug>/receipt-keys/", claims.receipt_keys, name="receipt_keys"),
]
