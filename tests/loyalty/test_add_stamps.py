from datetime import timedelta

import pytest
from django.utils import timezone

from stampcard.idempotency.services import AlreadyDone
from stampcard.loyalty import errors
from stampcard.loyalty.models import Card, Reward, StampEvent, StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.vouchers.models import Voucher, VoucherTemplate
from tests import factories


def stamp(card, actor, count=1, source=StampSource.STAFF, **kwargs):
    return add_stamps(
        business=card.business, actor=actor, source=source, count=count, card_id=card.pk, **kwargs
    )


def ledger_total(card):
    return sum(StampEvent.objects.filter(card=card).values_list("delta", flat=True))


def test_a_stamp_writes_one_ledger_row_and_moves_the_counter(card, staff_actor, owner):
    outcome = stamp(card, staff_actor)
    card.refresh_from_db()
    assert (outcome.added, outcome.stamps, outcome.goal) == (1, 1, 10)
    assert card.stamps == 1 == card.lifetime_stamps == ledger_total(card)
    event = StampEvent.objects.get(card=card)
    assert (event.source, event.actor_kind, event.actor_user_id) == ("staff", "staff", owner.pk)
    assert event.balance_after == 1


def test_a_card_is_found_by_its_code(card, staff_actor):
    outcome = add_stamps(
        business=card.business, actor=staff_actor, source=StampSource.AUTOPILOT, card_code=card.code
    )
    assert outcome.card_id == card.pk


def test_reaching_the_goal_closes_the_cycle_and_carries_over(card, staff_actor):
    card.program.max_stamps_per_visit = 30
    card.program.save()
    for _ in range(9):
        stamp(card, staff_actor)
    outcome = stamp(card, staff_actor, count=3)
    card.refresh_from_db()
    assert (card.stamps, card.cycles_completed, card.lifetime_stamps) == (2, 1, 12)
    assert outcome.stamps == 2
    assert len(outcome.reward_ids) == 1
    reward = Reward.objects.get(card=card)
    assert (reward.kind, reward.status, reward.cycle, reward.stamps_used) == (
        "simple",
        "ready",
        1,
        10,
    )
    # A big purchase can close more than one cycle at once.
    outcome = stamp(card, staff_actor, count=25)
    card.refresh_from_db()
    assert (card.stamps, card.cycles_completed) == (7, 3)
    assert len(outcome.reward_ids) == 2
    assert list(
        Reward.objects.filter(card=card).values_list("cycle", flat=True).order_by("cycle")
    ) == [1, 2, 3]


def test_smart_voucher_program_issues_a_voucher_at_the_goal(business, staff_actor):
    program = factories.ProgramFactory(
        business=business,
        stamps_goal=2,
        reward_kind="smart_voucher",
        reward_title="Free cake",
    )
    VoucherTemplate.objects.create(
        program=program, redemption_method="self", validity="days", validity_amount=30
    )
    card = factories.CardFactory(program=program)
    stamp(card, staff_actor)
    outcome = stamp(card, staff_actor)
    reward = Reward.objects.get(pk=outcome.reward_ids[0])
    voucher = reward.voucher
    assert reward.status == "voucher_issued"
    assert (voucher.title, voucher.card, voucher.origin, voucher.redemption_method) == (
        "Free cake",
        card,
        "goal",
        "self",
    )
    assert timedelta(days=29) < voucher.valid_until - timezone.now() <= timedelta(days=30)


def test_lottery_program_leaves_a_pending_draw(business, staff_actor):
    program = factories.ProgramFactory(business=business, stamps_goal=1, reward_kind="lottery")
    card = factories.CardFactory(program=program)
    outcome = stamp(card, staff_actor)
    assert Reward.objects.get(pk=outcome.reward_ids[0]).status == "draw_pending"


@pytest.mark.parametrize(
    ("change", "source", "count", "refusal"),
    [
        ({"status": "draft"}, "staff", 1, errors.ProgramInactive),
        ({"status": "archived"}, "staff", 1, errors.ProgramInactive),
        ({"allowed_sources": ["staff"]}, "kiosk", 1, errors.SourceNotAllowed),
        ({"max_stamps_per_visit": 2}, "staff", 3, errors.VisitLimit),
        ({}, "staff", 0, errors.InvalidStampCount),
        ({}, "staff", -1, errors.InvalidStampCount),
    ],
)
def test_rules_refuse_and_write_nothing(card, staff_actor, change, source, count, refusal):
    for field, value in change.items():
        setattr(card.program, field, value)
    card.program.save()
    with pytest.raises(refusal):
        stamp(card, staff_actor, count=count, source=source)
    card.refresh_from_db()
    assert card.stamps == 0
    assert not StampEvent.objects.exists()


def test_cooldown_refuses_with_the_time_to_wait(card, staff_actor):
    card.program.cooldown_seconds = 600
    card.program.save()
    stamp(card, staff_actor)
    with pytest.raises(errors.Cooldown) as refused:
        stamp(card, staff_actor)
    assert refused.value.code == "cooldown"
    assert "10 minutes" in refused.value.message
    Card.objects.filter(pk=card.pk).update(last_stamp_at=timezone.now() - timedelta(seconds=601))
    stamp(card, staff_actor)
    assert ledger_total(card) == 2


def test_daily_limit_counts_the_business_day(card, staff_actor):
    card.program.max_stamps_per_day = 2
    card.program.save()
    stamp(card, staff_actor)
    stamp(card, staff_actor)
    with pytest.raises(errors.DailyLimit) as refused:
        stamp(card, staff_actor)
    assert "2" in refused.value.message
    # A new day (in the business's time zone) starts afresh.
    Card.objects.filter(pk=card.pk).update(stamp_day=timezone.now().date() - timedelta(days=2))
    stamp(card, staff_actor)


@pytest.mark.parametrize("path", ["unlocked", "locked"])
def test_card_of_another_business_is_not_found(card, other_business, other_staff_actor, path):
    """Answered exactly like a code that does not exist: a code cannot be probed."""
    key = "probe-1" if path == "locked" else None  # a key takes the locked path
    for found_by in ({"card_id": card.pk}, {"card_code": card.code}):
        with pytest.raises(errors.CardNotFound) as refused:
            add_stamps(
                business=other_business,
                actor=other_staff_actor,
                source="staff",
                idempotency_key=key,
                **found_by,
            )
        assert refused.value.code == "card_not_found"
        unknown = errors.CardNotFound()
        assert (refused.value.message, refused.value.http_status) == (
            unknown.message,
            unknown.http_status,
        )
    assert not StampEvent.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    "found_by",
    [
        {"card_id": 2**64},
        {"card_id": -1},
        {"card_id": 0},
        {"card_code": "ABCD\x00EFG"},
        {"card_code": "A" * 10_000},
        {"card_code": ""},
    ],
    ids=["id-past-64-bits", "negative-id", "zero-id", "nul-byte", "huge-code", "empty-code"],
)
def test_impossible_ids_and_codes_are_not_found(card, staff_actor, found_by):
    with pytest.raises(errors.CardNotFound):
        add_stamps(business=card.business, actor=staff_actor, source="staff", **found_by)
    assert not StampEvent.objects.exists()


def test_unknown_card(business, staff_actor):
    with pytest.raises(errors.CardNotFound):
        add_stamps(business=business, actor=staff_actor, source="staff", card_code="000000000")


def test_an_idempotency_key_applies_once(card, staff_actor):
    first = stamp(card, staff_actor, idempotency_key="scan-1")
    with pytest.raises(AlreadyDone) as retried:
        stamp(card, staff_actor, idempotency_key="scan-1")
    assert retried.value.code == "already_done"
    assert retried.value.outcome == first.as_dict()
    stamp(card, staff_actor, idempotency_key="scan-2")
    card.refresh_from_db()
    assert card.stamps == 2 == ledger_total(card)


def test_keys_are_per_business(card, staff_actor, other_business, other_staff_actor):
    other_card = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    stamp(card, staff_actor, idempotency_key="k")
    stamp(other_card, other_staff_actor, idempotency_key="k")
    assert ledger_total(other_card) == 1


def test_a_key_sent_with_another_request_is_refused_not_replayed(card, staff_actor, business):
    from stampcard.idempotency.services import KeyReused
    from stampcard.vouchers.models import VoucherOrigin
    from stampcard.vouchers.services import issue_voucher, redeem_voucher

    voucher = issue_voucher(
        business=business,
        actor=staff_actor,
        title="Gift",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
    )
    redeem_voucher(
        business=business, actor=staff_actor, token=voucher.token, idempotency_key="r-42"
    )
    with pytest.raises(KeyReused) as refused:
        stamp(card, staff_actor, idempotency_key="r-42")
    assert refused.value.code == "idempotency_key_reused"
    stamp(card, staff_actor, idempotency_key="s-1")
    with pytest.raises(KeyReused):
        stamp(card, staff_actor, count=1, source=StampSource.KIOSK, idempotency_key="s-1")
    assert ledger_total(card) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "nul\x00"])
def test_malformed_keys_are_refused_before_any_work(card, staff_actor, key):
    from stampcard.idempotency.services import InvalidKey

    with pytest.raises(InvalidKey):
        stamp(card, staff_actor, idempotency_key=key)
    assert ledger_total(card) == 0


def test_the_business_day_turns_at_local_midnight(card, staff_actor):
    from datetime import datetime
    from unittest import mock
    from zoneinfo import ZoneInfo

    card.program.max_stamps_per_day = 1
    card.program.save()
    bangkok = ZoneInfo("Asia/Bangkok")  # the factory's business time zone
    before_midnight = datetime(2026, 5, 1, 23, 59, tzinfo=bangkok)
    after_midnight = datetime(2026, 5, 2, 0, 1, tzinfo=bangkok)
    with mock.patch("django.utils.timezone.now", return_value=before_midnight):
        stamp(card, staff_actor)
        with pytest.raises(errors.DailyLimit):
            stamp(card, staff_actor)
    # Two minutes later it is a new day in Bangkok, while still 1 May in UTC.
    with mock.patch("django.utils.timezone.now", return_value=after_midnight):
        stamp(card, staff_actor)
        with pytest.raises(errors.DailyLimit):
            stamp(card, staff_actor)
    card.refresh_from_db()
    assert card.stamp_day.isoformat() == "2026-05-02"


def test_a_goal_voucher_that_cannot_be_issued_leaves_the_stamp_and_a_pending_reward(
    business, staff_actor
):
    from datetime import date

    from stampcard.audit.models import AuditEntry

    program = factories.ProgramFactory(
        business=business,
        stamps_goal=1,
        reward_kind="smart_voucher",
    )
    # Saved past its model's validation, as a program whose date has since passed would be.
    VoucherTemplate.objects.create(
        program=program, validity="fixed_date", valid_until=date(2020, 1, 1)
    )
    card = factories.CardFactory(program=program)
    outcome = stamp(card, staff_actor)
    reward = Reward.objects.get(pk=outcome.reward_ids[0])
    assert reward.status == "voucher_pending"
    assert not Voucher.objects.filter(reward=reward).exists()
    assert AuditEntry.objects.get(action="reward.voucher_not_issued").details["reason"] == (
        "invalid_voucher"
    )
    assert ledger_total(card) == 1


def test_a_device_stamp_records_the_device_and_its_location(card, staff_actor, business):
    from stampcard.tenancy.services import authenticate_device, pair_device

    shop = factories.LocationFactory(business=business)
    paired = pair_device(
        business=business, actor=staff_actor, name="Till 2", kind="autopilot", location=shop
    )
    device = authenticate_device(paired.token)
    assert device is not None
    actor = Actor(kind=ActorKind.DEVICE, device_id=device.pk, location_id=device.location_id)
    add_stamps(business=business, actor=actor, source=StampSource.AUTOPILOT, card_code=card.code)
    event = StampEvent.objects.get(card=card)
    assert (event.actor_kind, event.actor_device_id, event.location_id, event.source) == (
        "device",
        device.pk,
        shop.pk,
        "autopilot",
    )
