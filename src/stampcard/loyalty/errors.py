"""Why a stamp or a correction was refused. Codes are stable; messages are translated."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from stampcard.refusals import Refusal
from stampcard.storable import UNSTORABLE_TEXT


class StampRefused(Refusal):
    pass


class CardNotFound(StampRefused):
    code = "card_not_found"
    default_message = _("No card has this code. Check the code and try again.")
    http_status = 404


class WrongBusiness(StampRefused):
    code = "wrong_business"
    default_message = _("This card belongs to another business.")
    http_status = 404


class ProgramInactive(StampRefused):
    code = "program_inactive"
    default_message = _("This stamp card is not active, so it cannot collect stamps.")


class SourceNotAllowed(StampRefused):
    code = "source_not_allowed"
    default_message = _("This card does not collect stamps this way.")
    http_status = 403


class InvalidStampCount(StampRefused):
    code = "invalid_count"
    default_message = _("The number of stamps must be a whole number of at least 1.")
    http_status = 400


class Cooldown(StampRefused):
    code = "cooldown"
    default_message = _("This card was stamped moments ago. Try again in %(wait)s.")
    http_status = 429


class VisitLimit(StampRefused):
    code = "visit_limit"
    default_message = ngettext_lazy(
        "At most %(limit)d stamp can be given in one visit.",
        "At most %(limit)d stamps can be given in one visit.",
        "limit",
    )


class DailyLimit(StampRefused):
    code = "daily_limit"
    default_message = ngettext_lazy(
        "This card has reached today's limit of %(limit)d stamp.",
        "This card has reached today's limit of %(limit)d stamps.",
        "limit",
    )
    http_status = 429


class CorrectionRefused(Refusal):
    pass


class ReasonRequired(CorrectionRefused):
    code = "reason_required"
    default_message = _("Say why the stamps are corrected.")
    http_status = 400


class ReasonInvalid(CorrectionRefused):
    code = "reason_invalid"
    default_message = UNSTORABLE_TEXT
    http_status = 400


class ReasonTooLong(CorrectionRefused):
    code = "reason_too_long"
    default_message = _("Keep the reason under 255 characters.")
    http_status = 400


class CorrectionTooLarge(CorrectionRefused):
    code = "correction_too_large"
    default_message = ngettext_lazy(
        "A correction changes at most %(most)d stamp.",
        "A correction changes at most %(most)d stamps.",
        "most",
    )
    http_status = 400


class BelowZero(CorrectionRefused):
    code = "below_zero"
    default_message = ngettext_lazy(
        "The card has only %(stamps)d stamp in this cycle; it cannot go below 0.",
        "The card has only %(stamps)d stamps in this cycle; it cannot go below 0.",
        "stamps",
    )


class RewardNotReady(Refusal):
    code = "reward_not_ready"
    default_message = _("This reward has already been handed over.")


class ProgramNotFound(Refusal):
    code = "program_not_found"
    default_message = _("This stamp card does not exist or belongs to another business.")
    http_status = 404


class InvalidCustomer(Refusal):
    code = "invalid_customer"
    http_status = 400


class StampsFromAmount(StampRefused):
    code = "stamps_from_amount"
    default_message = _(
        "This card earns stamps by the amount spent: enter the amount, not a number of stamps."
    )
    http_status = 400


class UndoRefused(Refusal):
    pass


class UndoNotPossible(UndoRefused):
    code = "undo_not_possible"
    default_message = _(
        "This stamp can no longer be undone: it was undone already or the card has moved on."
    )


class UndoNotYours(UndoRefused):
    code = "undo_not_yours"
    default_message = _("Only the stamp you gave can be undone here.")
    http_status = 403


class UndoTooLate(UndoRefused):
    code = "undo_too_late"
    default_message = _("The time to undo this stamp has passed. A manager can correct it.")


class UndoEarnedReward(UndoRefused):
    code = "undo_earned_reward"
    default_message = _(
        "This stamp earned a reward, so it cannot be undone here. A manager can correct it."
    )
