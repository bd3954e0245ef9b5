from django.urls import path

from stampcard.counter import views as counter
from stampcard.dashboard import devices, views

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
    path("b/<slug:business_slug>/scanner/", counter.staff_scanner, name="scanner"),
    path("b/<slug:business_slug>/scanner/cards", counter.staff_cards, name="scanner_cards"),
    path("b/<slug:business_slug>/devices/", devices.devices, name="devices"),
]
