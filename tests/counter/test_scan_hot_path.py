"""The scan's written-out statements: each names the business, so another's rows never show.

django-scopes does not guard raw SQL: these tests take another business's card, ledger,
nonce and device through every statement of the hot path (the device door's lookup, what the
screen shows, the stamped-since check, the idempotency row) and watch them stay unseen.
"""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from stampcard.counter.cards import card_answer
from stampcard.counter.scan import _refuse_if_stamped_since
from stampcard.idempotency.models import IdempotencyKey
from stampcard.idempotency.services import (
    AlreadyDone,
    IdempotentRequest,
    claim_key,
    keep_outcome,
    replay_if_done,
)
from stampcard.loyalty.errors import CardNotFound
from stampcard.loyalty.models import Card, Reward, StampEvent, StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.services import find_device, pair_device, revoke_device
from tests import factories


@pytest.fixture
def rival_card(other_business):
    return factories.CardFactory(program=factories.ProgramFactory(business=other_business))


@pytest.fixture
def rival_device(other_business, other_staff_actor):
    return pair_device(
        business=other_business, actor=other_staff_actor, name="Rival till", kind="scanner"
    )


def test_a_card_of_another_business_is_never_shown(scan, rival_card, other_staff_actor):
    with scopes_disabled():
        add_stamps(
            business=rival_card.business,
            actor=other_staff_actor,
            source=StampSource.STAFF,
            card_id=rival_card.pk,
        )
    for action in ("scan", "stamp"):
        response = scan(rival_card.code, action=action)
        assert response.status_code == 404
        assert response.json()["refusal"] == "card_not_found"
        assert response.json()["card"] is None
    with scopes_disabled():
        assert StampEvent.objects.filter(card=rival_card).count() == 1


def test_card_answer_names_the_business(card, rival_card, business, other_business):
    actor = Actor.system()
    assert card_answer(business_id=other_business.pk, actor=actor, code=card.code) is None
    assert card_answer(business_id=business.pk, actor=actor, code=rival_card.code) is None
    shown = card_answer(business_id=business.pk, actor=actor, code=card.code)
    assert shown is not None
    assert shown["customer"] == card.customer.name


@pytest.mark.parametrize("code", ["", "X" * 17, "AB\x00CD"])
def test_card_answer_finds_nothing_for_a_code_no_card_can_have(business, code):
    assert card_answer(business_id=business.pk, actor=Actor.system(), code=code) is None


def test_the_answer_shows_the_latest_ledger_row_and_every_ready_reward(scan, card, business):
    milestone = factories.MilestoneFactory(program=card.program, stamps=2, reward_title="Cookie")
    card.program.max_stamps_per_visit = 10
    card.program.save()
    stamped = scan(card.code, action="stamp", count=10).json()["card"]
    with scopes_disabled():
        ready = list(Reward.objects.filter(card=card).order_by("id"))
        last = StampEvent.objects.filter(card=card).latest("id")
    assert [r["id"] for r in stamped["rewards_ready"]] == [r.pk for r in ready]
    titles = {r["title"] for r in stamped["rewards_ready"]}
    assert titles == {milestone.reward_title, card.program.reward_title}
    assert stamped["last_event"] == last.pk
    assert stamped["last_stamp"]["event_id"] == last.pk
    assert stamped["last_stamp"]["added"] == 10
    assert stamped["last_stamp"]["by_you"] is True


def test_seen_event_with_a_card_of_another_business_finds_no_card(scan, rival_card):
    response = scan(rival_card.code, action="stamp", seen_event=0)
    assert response.status_code == 404
    assert response.json()["refusal"] == "card_not_found"
    assert response.json()["card"] is None
    with scopes_disabled():
        assert not StampEvent.objects.filter(card=rival_card).exists()


def test_another_business_stamping_does_not_refuse_this_one(scan, card, rival_card):
    """The stamped-since check reads this card's own ledger, not anyone's recent stamps."""
    shown = scan(card.code).json()["card"]
    scan(rival_card.code, action="stamp")
    stamped = scan(card.code, action="stamp", seen_event=shown["last_event"])
    assert stamped.status_code == 200
    assert stamped.json()["outcome"] == "stamped"


def test_the_same_nonce_in_another_business_is_another_request(
    scan, card, rival_card, rival_device, scanner, business, other_business
):
    key = f"scan:device:{scanner.device.pk}:shared-nonce-1"
    mine = IdempotentRequest.for_key(key, business_id=business.pk, operation="counter.stamp")
    theirs = IdempotentRequest.for_key(key, business_id=other_business.pk, operation="x")
    assert mine is not None
    assert theirs is not None
    claim_key(mine)
    keep_outcome(mine, {"ok": True})
    replay_if_done(theirs)  # not theirs to replay: no refusal, no outcome
    with pytest.raises(AlreadyDone) as done:
        replay_if_done(mine)
    assert done.value.outcome == {"ok": True}
    claim_key(theirs)  # their own key, kept beside ours
    keep_outcome(theirs, {"ok": False})
    with scopes_disabled():
        assert IdempotencyKey.objects.filter(key=key).count() == 2


def test_a_replayed_answer_comes_back_word_for_word(scan, card):
    first = scan(card.code, action="stamp", nonce="replay-nonce-1", language="th")
    again = scan(card.code, action="stamp", nonce="replay-nonce-1", language="en")
    assert again["Idempotent-Replayed"] == "true"
    assert json.loads(again.content) == json.loads(first.content)
    with scopes_disabled():
        stored = IdempotencyKey.objects.get(key__endswith=":replay-nonce-1")
    assert stored.outcome == first.json()


def test_the_device_door_reads_the_device_with_its_business_and_location(
    scanner, business, shop, django_assert_num_queries
):
    with django_assert_num_queries(0):  # one written-out statement, on the hot-path cursor
        device = find_device(scanner.token)
        assert device is not None
        assert (device.pk, device.business.name, device.location.name) == (
            scanner.device.pk,
            business.name,
            shop.name,
        )
        assert device.business.time_zone == business.time_zone
        assert device.created_at == scanner.device.created_at
    assert device == scanner.device
    assert find_device(scanner.token[:-1] + ("A" if scanner.token[-1] != "A" else "B")) is None


def test_a_revoked_device_is_found_and_refused_at_the_door(
    client, scanner, business, staff_actor, card
):
    revoke_device(business=business, actor=staff_actor, device=scanner.device)
    device = find_device(scanner.token)
    assert device is not None
    assert not device.is_active
    response = client.post(
        "/device/scan",
        json.dumps({"code": card.code, "nonce": "revoked-1", "scanned_at": "x"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {scanner.token}",
    )
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "device_revoked"


def test_each_business_device_sees_only_its_own_cards(client, card, rival_card, rival_device):
    response = client.post(
        "/device/scan",
        json.dumps(
            {"code": card.code, "nonce": "rival-scan-1", "scanned_at": timezone.now().isoformat()}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {rival_device.token}",
    )
    assert response.status_code == 404
    assert response.json()["card"] is None


def test_a_plain_stamp_in_the_callers_transaction_takes_no_savepoint(business, staff_actor, card):
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        add_stamps(business=business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk)
    assert not [q for q in captured.captured_queries if "SAVEPOINT" in q["sql"]]
    with scopes_disabled():
        assert Card.objects.get(pk=card.pk).stamps == 1


def test_a_stamp_that_earns_a_reward_keeps_its_savepoint(business, staff_actor, card):
    factories.MilestoneFactory(program=card.program, stamps=1, reward_title="Cookie")
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        add_stamps(business=business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk)
    assert [q for q in captured.captured_queries if "SAVEPOINT" in q["sql"]]
    with scopes_disabled():
        assert Reward.objects.filter(card=card).count() == 1


def test_a_refused_stamp_leaves_the_callers_transaction_usable(scan, card):
    """No savepoint, yet the refusal's answer still reads the card in the same transaction."""
    card.program.cooldown_seconds = 3600
    card.program.save()
    scan(card.code, action="stamp")
    refused = scan(card.code, action="stamp")
    assert refused.status_code == 429
    assert refused.json()["refusal"] == "cooldown"
    assert refused.json()["card"]["stamps"] == 1
    assert refused.json()["card"]["last_stamp"]["by_you"] is True


def test_the_stamped_since_check_names_the_business(business, staff_actor, rival_card):
    with transaction.atomic(), pytest.raises(CardNotFound):
        _refuse_if_stamped_since(
            business=business, actor=staff_actor, code=rival_card.code, seen_event=0
        )
