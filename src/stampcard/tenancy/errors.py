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
