"""Designing a program: its rules, its look, the texts customers read, its status.

The program designer, the onboarding and any script write programs through these functions,
never through forms on the model. Each is one transaction and asks ``MANAGE_PROGRAMS`` first.

**What a change tells the wallet.** Saving a program whose design changed
(``Program.DESIGN_FIELDS``; ``design_version`` moves) or one of its milestones calls the one
hook ``wallet.changes.program_changed`` from the model, in the same transaction: it records a
single ``wallet.passes_changed`` outbox message, whose consumers date every issued pass of
the program in one set-based UPDATE, owe each registered device a (debounced) push, and
rewrite the Google class and saved objects. A status change tells the wallet the same way
(``publish_program_changed``). The request never waits for 10,000 cards.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, ProtectedError
from django.utils.translation import gettext as _

from stampcard.audit.services import record
from stampcard.loyalty.models import (
    MAX_MILESTONES,
    Milestone,
    Program,
    ProgramStatus,
    RewardKind,
    passes_of_program_changed,
)
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require

# What the designer sets on a program; everything else (business, design_version, status) is
# decided here.
PROGRAM_FIELDS = (
    "name",
    "stamps_goal",
    "reward_kind",
    "reward_title",
    "reward_description",
    "stamp_rule",
    "amount_per_stamp",
    "amount_rounding",
    "minimum_spend",
    "allowed_sources",
    "cooldown_seconds",
    "max_stamps_per_visit",
    "max_stamps_per_day",
    "background_color",
    "foreground_color",
    "label_color",
    "stamp_icon",
    "card_barcode",
    "stamp_image",
    "strip_image",
    "logo",
    "terms",
)
# The longest translated text kept, per field: the model's own limits for the short ones.
TRANSLATION_LIMITS = {"name": 120, "reward_title": 120, "reward_description": 2000, "terms": 4000}
# The same for a milestone's texts (``Milestone.translations``).
MILESTONE_TRANSLATION_LIMITS = {"reward_title": 120, "reward_description": 2000}
# Which status a program may move to from each.
STATUS_MOVES: dict[str, frozenset[str]] = {
    ProgramStatus.DRAFT: frozenset({ProgramStatus.ACTIVE, ProgramStatus.ARCHIVED}),
    ProgramStatus.ACTIVE: frozenset({ProgramStatus.ARCHIVED}),
    ProgramStatus.ARCHIVED: frozenset({ProgramStatus.ACTIVE}),
}
# The icons a stamp may be drawn with (the designer's choices; wallet.stamp_icons draws them).
STAMP_ICONS = ("cup", "star", "heart", "paw", "scissors", "drop", "flower", "leaf", "check")


@dataclass(frozen=True, slots=True)
class MilestoneDraft:
    """A milestone as the designer sends it: ``pk`` None for a new one.

    ``titles`` holds its title in the business's other languages, by language code; None
    keeps the stored ones."""

    stamps: int
    reward_title: str
    pk: int | None = None
    titles: Mapping[str, str] | None = None


def clean_translations(
    business: Business, raw: Mapping[str, Any], limits: Mapping[str, int] = TRANSLATION_LIMITS
) -> dict[str, dict[str, str]]:
    """Only the business's other languages, only the translated fields (those of ``limits``:
    a program's unless told), trimmed, no empties.

    Raises ValidationError for a text longer than its field allows.
    """
    known = {code for code, _name in business.other_languages}
    cleaned: dict[str, dict[str, str]] = {}
    for language, texts in raw.items():
        if language not in known or not isinstance(texts, Mapping):
            continue
        kept = {}
        for field, limit in limits.items():
            value = texts.get(field)
            if not isinstance(value, str) or not value.strip():
                continue
            value = value.replace("\x00", "").strip()
            if len(value) > limit:
                raise ValidationError(
                    _("A translation is too long: at most %(most)d characters.") % {"most": limit}
                )
            kept[field] = value
        if kept:
            cleaned[language] = kept
    return cleaned


def save_program(
    *,
    business: Business,
    actor: Actor,
    program: Program | None = None,
    values: Mapping[str, Any],
    translations: Mapping[str, Any] | None = None,
    milestones: Iterable[MilestoneDraft] | None = None,
) -> Program:
    """Create a program (a draft) or change one, with its milestones.

    ``values`` holds ``PROGRAM_FIELDS`` (others are ignored); ``translations`` the texts in
    the business's other languages (``clean_translations``); ``milestones``, when given, is
    the whole list: those left out are removed, unless a card already earned one. A draft
    changes a milestone's stamps and title (in each language it gives) only; its reward
    kind, description (in any language) and voucher settings are kept. The goal voucher's
    settings are the vouchers app's (``vouchers.services.goal_voucher_settings``).

    Locks the program row. Refuses with ``NotAllowed`` without MANAGE_PROGRAMS and with
    Django's ValidationError for a value the model refuses; nothing is written then. A change
    of what issued cards show publishes it (module docstring).
    """
    require(actor, Permission.MANAGE_PROGRAMS, business=business)
    with transaction.atomic():
        if program is None:
            program = Program(business=business, status=ProgramStatus.DRAFT)
            created = True
        else:
            program = Program.objects.select_for_update().get(pk=program.pk, business=business)
            created = False
        for field in PROGRAM_FIELDS:
            if field in values:
                setattr(program, field, values[field])
        if translations is not None:
            program.translations = clean_translations(business, translations)
        program.full_clean(exclude=["business"])
        program.save()
        if milestones is not None:
            _save_milestones(program, list(milestones))
        program.refresh_from_db(fields=["design_version"])
        record(
            business=business,
            actor=actor,
            action="program.created" if created else "program.saved",
            target=program,
        )
    return program


def set_program_status(
    *, business: Business, actor: Actor, program: Program, status: str
) -> Program:
    """Move a program to ``status`` along ``STATUS_MOVES`` (a live card never goes back to a
    draft); locks the program row and publishes the change to its issued cards.

    Refuses with ValidationError for a move that is not allowed, with NotAllowed without
    MANAGE_PROGRAMS.
    """
    require(actor, Permission.MANAGE_PROGRAMS, business=business)
    with transaction.atomic():
        locked = Program.objects.select_for_update().get(pk=program.pk, business=business)
        if status not in STATUS_MOVES.get(locked.status, frozenset()):
            raise ValidationError(_("A program cannot move from this status to that one."))
        locked.status = status
        locked.save(update_fields=["status"])
        record(
            business=business, actor=actor, action="program.status", target=locked, status=status
        )
        publish_program_changed(program=locked)
    return locked


def publish_program_changed(*, program: Program) -> None:
    """Tell every issued pass of ``program`` that it changed (``wallet.changes``), inside the
    caller's transaction. Design and milestone saves do this from the model already."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish_program_changed() belongs inside the program's transaction")
    passes_of_program_changed(program)


def _save_milestones(program: Program, drafts: list[MilestoneDraft]) -> None:
    if len(drafts) > MAX_MILESTONES:
        raise ValidationError(
            _("A card has at most %(most)d milestones before its goal.") % {"most": MAX_MILESTONES}
        )
    counts = [draft.stamps for draft in drafts]
    if len(set(counts)) != len(counts):
        raise ValidationError(_("Two milestones cannot be at the same number of stamps."))
    existing = {m.pk: m for m in Milestone.objects.filter(program=program)}
    kept = {draft.pk for draft in drafts if draft.pk is not None}
    if not kept <= set(existing):
        raise ValidationError(_("That milestone is not part of this card."))
    gone = [m for pk, m in existing.items() if pk not in kept]
    try:
        for milestone in gone:
            milestone.delete()
    except ProtectedError:
        raise ValidationError(
            _("A milestone that customers already earned cannot be removed.")
        ) from None
    translations = {
        key: _milestone_translations(
            program.business, existing[draft.pk].translations if draft.pk else {}, draft
        )
        for key, draft in enumerate(drafts)
    }
    changed = [
        (draft, translations[key])
        for key, draft in enumerate(drafts)
        if draft.pk is None
        or (
            existing[draft.pk].stamps,
            existing[draft.pk].reward_title,
            existing[draft.pk].translations,
        )
        != (draft.stamps, draft.reward_title.strip(), translations[key])
    ]
    # Move changed milestones out of the way first, so that swapping two counts never meets
    # the one-milestone-per-count constraint half-way.
    moving = [draft.pk for draft, _texts in changed if draft.pk is not None]
    Milestone.objects.filter(pk__in=moving).update(stamps=F("stamps") + 1000)
    for draft, texts in changed:
        # The designer edits a milestone's count and title only: its kind, description and
        # voucher settings, perhaps set up elsewhere, stay. A new one is a simple reward.
        milestone = (
            existing[draft.pk]
            if draft.pk is not None
            else Milestone(program=program, reward_kind=RewardKind.SIMPLE)
        )
        milestone.business_id = program.business_id
        milestone.stamps = draft.stamps
        milestone.reward_title = draft.reward_title.strip()
        milestone.translations = texts
        milestone.full_clean(exclude=["business", "program"])
        milestone.save()


def _milestone_translations(
    business: Business, stored: Any, draft: MilestoneDraft
) -> dict[str, dict[str, str]]:
    """The milestone's texts in other languages once ``draft`` is applied: its titles from
    the draft (when it gives them), every other text as stored."""
    merged: dict[str, dict[str, Any]] = {
        language: dict(texts)
        for language, texts in (stored.items() if isinstance(stored, Mapping) else ())
        if isinstance(texts, Mapping)
    }
    if draft.titles is not None:
        for texts in merged.values():
            texts.pop("reward_title", None)
        for language, title in draft.titles.items():
            merged.setdefault(language, {})["reward_title"] = title
    return clean_translations(business, merged, MILESTONE_TRANSLATION_LIMITS)
