from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from stampcard.refusals import Refusal


class NotAllowed(Refusal, PermissionDenied):
    """The actor may not do this (here). A PermissionDenied too, so a view answers 403."""

    code = "not_allowed"
    default_message = _("You are not allowed to do this here.")
    http_status = 403


class DeviceUnknown(Refusal):
    """No paired device answers to this token (missing, malformed or never paired)."""

    code = "device_unknown"
    default_message = _("This device is not paired. Pair it again from the dashboard.")
    http_status = 401


class DeviceRevoked(Refusal):
    """The device was paired, then revoked: it must be paired again."""

    code = "device_revoked"
    default_message = _("This device was unpaired. Pair it again from the dashboard.")
    http_status = 403


class PairingRefused(Refusal):
    """A pairing code could not pair this device."""


class PairingCodeWrong(PairingRefused):
    code = "pairing_code_wrong"
    default_message = _("This pairing code is not valid. Check it and try again.")
    http_status = 400


class PairingCodeExpired(PairingRefused):
    code = "pairing_code_expired"
    default_message = _("This pairing code has expired. Create a new one on the dashboard.")
    http_status = 400


class PairingCodeUsed(PairingRefused):
    code = "pairing_code_used"
    default_message = _("This pairing code was already used. Create a new one on the dashboard.")
    http_status = 400


class PairingThrottled(PairingRefused):
    code = "pairing_throttled"
    default_message = _("Too many wrong pairing codes. Wait a few minutes, then try again.")
    http_status = 429


class PairingPaused(PairingRefused):
    code = "pairing_paused"
    default_message = _(
        "Pairing is paused for a few minutes after many wrong codes. Paired devices keep "
        "working. Try again shortly."
    )
    http_status = 429


class InvalidDevice(Refusal):
    code = "invalid_device"
    default_message = _("Give the device a name of up to 120 characters.")
    http_status = 400


class LocationInUse(Refusal):
    """A shop still has active devices or members limited to it."""

    code = "location_in_use"
    default_message = _(
        "This shop still has active devices or team members limited to it. Revoke or move "
        "the devices and change those members' shops first."
    )
    http_status = 409
