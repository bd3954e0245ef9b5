from django.urls import path

from stampcard.counter import pairing

# Before any door: a device without a token yet, and the installed app's start page.
app_name = "pairing"
urlpatterns = [
    path("device/pair/", pairing.pair, name="pair"),
    path("scanner/", pairing.start, name="start"),
    path("kiosk/", pairing.kiosk_start, name="kiosk_start"),
]
