"""The rules a stamp must pass, checked against the card as read."""

from datetime import date, datetime

from django.utils.translation import ngettext

from stampcard.loyalty import errors
from stampcard.loyalty.models import ProgramStatus
from stampcard.loyalty.services.card_state import CardState


def _format_wait(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = -(-seconds // 60)
    if minutes < 120:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours = -(-minutes // 60)
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


def check_stamp_rules(
    card: CardState, *, count: int, source: str, now: datetime, today: date
) -> None:
    if card.program_status != ProgramStatus.ACTIVE:
        raise errors.ProgramInactive()
    if source not in card.allowed_sources:
        raise errors.SourceNotAllowed()
    if count > card.max_stamps_per_visit:
        raise errors.VisitLimit(limit=card.max_stamps_per_visit)
    if card.cooldown_seconds and card.last_stamp_at is not None:
        waited = (now - card.last_stamp_at).total_seconds()
        if waited < card.cooldown_seconds:
            raise errors.Cooldown(wait=_format_wait(int(card.cooldown_seconds - waited) or 1))
    if card.max_stamps_per_day is not None:
        already_today = card.stamps_on_day if card.stamp_day == today else 0
        if already_today + count > card.max_stamps_per_day:
            raise errors.DailyLimit(limit=card.max_stamps_per_day)
