from django.urls import path

from stampcard.counter import views

# Every URL here goes through the device door (tenancy.middleware) by this namespace.
app_name = "counter"
urlpatterns = [
    path("", views.whoami, name="whoami"),
    path("scanner/", views.device_scanner, name="scanner"),
    path("autopilot/", views.autopilot, name="autopilot"),
    path("kiosk/", views.kiosk, name="kiosk"),
    path("scan", views.device_scan, name="scan"),
    path("cards", views.device_cards, name="cards"),
]
