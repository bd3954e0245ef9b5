"""Why the counter's scan endpoint refused a request before any service saw it."""

from django.utils.translation import gettext_lazy as _

from stampcard.refusals import Refusal


class InvalidScan(Refusal):
    """The request itself is malformed: not JSON, a field missing or of the wrong kind."""

    code = "invalid_scan"
    default_message = _("This scan could not be read. Scan the code again.")
    http_status = 400


class UnknownCode(Refusal):
    code = "unknown_code"
    default_message = _("This is not a card, a voucher or a redeem code. Check it and try again.")
    http_status = 404


class ScanTooOld(Refusal):
    code = "scan_too_old"
    default_message = _("This scan is more than a day old, so it was not carried out.")
    http_status = 422


class ScanInFuture(Refusal):
    code = "scan_in_future"
    default_message = _("This device's clock is wrong: the scan time is in the future.")
    http_status = 422


class AlreadyStamped(Refusal):
    """Another device or team member stamped the card since this screen showed it."""

    code = "already_stamped"
    default_message = _("Another team member stamped this card %(ago)s ago. Nothing was added.")


class VoucherOfAnotherBusiness(Refusal):
    code = "wrong_business"
    default_message = _("This voucher belongs to another business.")
    http_status = 404


class UnknownLocation(Refusal):
    code = "unknown_location"
    default_message = _("Choose one of the business's locations first.")
    http_status = 400


class CardFirst(Refusal):
    """A claim or receipt code scanned with no card on screen to claim it onto."""

    code = "card_first"
    default_message = _("Scan the customer's card first, then this code.")
    http_status = 409


class ClaimOnPhone(Refusal):
    """A claim or receipt code shown to a kiosk or an Autopilot station: it is claimed on
    the customer's phone (only the staff's scanner claims it onto a card)."""

    code = "claim_on_phone"
    default_message = _(
        "Codes from receipts are claimed on a phone: scan the code's QR code with the phone's "
        "camera, or open %(url)s and type the code."
    )
    http_status = 403
