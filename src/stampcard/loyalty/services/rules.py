"""The rules a stamp must pass, checked against the card as read."""

from datetime import date, datetime

from django.conf import settings
from django.utils.translation import ngettext

from stampcard.loyalty import errors
from stampcard.loyalty.amounts import AmountRule, Rounding
from stampcard.loyalty.models import ProgramStatus, StampRule, StampSource
from stampcard.loyalty.services.card_state import CardState

# Where customers stamp their own card: a card held to the kiosk's camera again and again
# would otherwise stamp each time on a program without a cooldown.
SELF_SERVICE_SOURCES = frozenset({StampSource.KIOSK, StampSource.AUTOPILOT})


def _format_wait(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = -(-seconds // 60)
    if minutes < 120:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours = -(-minutes // 60)
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


def check_program_open(card: CardState, *, source: str) -> None:
    """The card's program takes stamps, and from this source."""
    if card.program_status != ProgramStatus.ACTIVE:
        raise errors.ProgramInactive()
    if source not in card.allowed_sources:
        raise errors.SourceNotAllowed()


def stamps_earned(
    card: CardState, *, count: int | None, amount: int | None, currency: str, today: date
) -> int:
    """How many stamps this visit gives: as asked, or by the amount spent.

    By amount, the stamps are capped at the program's per-visit maximum and at what is left
    of its per-day maximum (a big purchase earns as much as a visit may, not a refusal);
    a card with nothing left today is refused as any stamp would be.
    """
    if card.stamp_rule != StampRule.PER_AMOUNT:
        return 1 if count is None else count
    if count is not None:
        raise errors.StampsFromAmount()
    if card.amount_per_stamp is None:  # an amount program saved without its rule
        raise errors.ProgramInactive()
    rule = AmountRule(
        per_stamp=card.amount_per_stamp,
        rounding=Rounding(card.amount_rounding),
        minimum_spend=card.minimum_spend,
    )
    stamps = min(rule.check(amount, None, currency), card.max_stamps_per_visit)
    if card.max_stamps_per_day is not None:
        already_today = card.stamps_today(today)
        if already_today >= card.max_stamps_per_day:
            raise errors.DailyLimit(limit=card.max_stamps_per_day)
        stamps = min(stamps, card.max_stamps_per_day - already_today)
    return stamps


def cooldown_seconds(card: CardState, *, source: str) -> int:
    """The least time between two stamps on ``card``: the program's cooldown, and from a
    self-service source at least ``SELF_SERVICE_MIN_COOLDOWN_SECONDS``."""
    if source in SELF_SERVICE_SOURCES:
        return max(card.cooldown_seconds, settings.SELF_SERVICE_MIN_COOLDOWN_SECONDS)
    return card.cooldown_seconds


def check_stamp_rules(
    card: CardState, *, source: str, count: int, now: datetime, today: date
) -> None:
    """The limits a stamp of ``count`` from ``source`` must keep, after ``check_program_open``."""
    if count > card.max_stamps_per_visit:
        raise errors.VisitLimit(limit=card.max_stamps_per_visit)
    cooldown = cooldown_seconds(card, source=source)
    if cooldown and card.last_stamp_at is not None:
        waited = (now - card.last_stamp_at).total_seconds()
        if waited < cooldown:
            raise errors.Cooldown(wait=_format_wait(int(cooldown - waited) or 1))
    day_max = card.max_stamps_per_day
    if day_max is not None and card.stamps_today(today) + count > day_max:
        raise errors.DailyLimit(limit=card.max_stamps_per_day)
