from django.urls import re_path

from stampcard.wallet import passkit_views as views

# The "passkit" namespace sends the URLs naming a serial through the PassKit door
# (tenancy.middleware). Served under WALLET_WEB_SERVICE_URL, which ends before "v1".
app_name = "passkit"
_DEVICE_ID = r"(?P<device_id>[A-Za-z0-9._-]{1,64})"
_TYPE_ID = r"(?P<pass_type_id>[A-Za-z0-9._-]{1,255})"
_SERIAL = r"(?P<serial_number>[A-Za-z0-9]{1,16})"
urlpatterns = [
    re_path(
        rf"^v1/devices/{_DEVICE_ID}/registrations/{_TYPE_ID}/{_SERIAL}$",
        views.registration,
        name="registration",
    ),
    re_path(
        rf"^v1/devices/{_DEVICE_ID}/registrations/{_TYPE_ID}$",
        views.updated_serials,
        name="updated_serials",
    ),
    re_path(rf"^v1/passes/{_TYPE_ID}/{_SERIAL}$", views.latest_pass, name="latest_pass"),
    re_path(r"^v1/log$", views.device_log, name="log"),
]
