"""The scan endpoint with cards: show, stamp, refusals as the engine gives them, replays, undo."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from stampcard.loyalty.card_codes import format_card_code
from stampcard.loyalty.models import Reward, StampEvent
from stampcard.loyalty.services import add_stamps
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Device
from stampcard.tenancy.services import pair_device, revoke_device
from tests import factories
from tests.counter.conftest import body


def ledger(card):
    return list(StampEvent.objects.filter(card=card).values_list("kind", "delta"))


def test_scanning_a_card_shows_it_and_writes_nothing(scan, card):
    response = scan(format_card_code(card.code).lower())
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True
    assert answer["outcome"] == "shown"
    assert answer["kind"] == "card"
    assert answer["card"]["customer"] == card.customer.name
    assert answer["card"]["stamps"] == 0
    assert answer["card"]["goal"] == 10
    assert answer["card"]["last_stamp"] is None
    # The scanner is a device: it sees the customer's e-mail masked.
    assert answer["card"]["email"].startswith(card.customer.email[0] + "•••@")
    assert ledger(card) == []


def test_one_tap_stamps_and_the_same_nonce_again_is_applied_once(scan, card, scanner):
    first = scan(card.code, action="stamp", nonce="nonce-0001")
    assert first.status_code == 200
    assert first.json()["outcome"] == "stamped"
    assert first.json()["message"] == "1 stamp added."
    assert first.json()["card"]["stamps"] == 1
    assert first.json()["card"]["last_stamp"]["by_you"] is True
    again = scan(card.code, action="stamp", nonce="nonce-0001")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert ledger(card) == [("stamp", 1)]
    event = StampEvent.objects.get(card=card)
    assert (event.source, event.actor_device_id, event.location_id) == (
        "staff",
        scanner.device.pk,
        scanner.device.location_id,
    )


def test_the_same_nonce_for_another_request_is_refused(scan, card):
    scan(card.code, action="stamp", nonce="nonce-0002")
    response = scan(card.code, action="stamp", nonce="nonce-0002", count=2)
    assert response.status_code == 422
    assert response.json()["refusal"] == "idempotency_key_reused"
    assert ledger(card) == [("stamp", 1)]


def test_n_stamps_within_the_visit_maximum(scan, card):
    card.program.max_stamps_per_visit = 3
    card.program.save()
    response = scan(card.code, action="stamp", count=3)
    assert response.json()["message"] == "3 stamps added."
    refused = scan(card.code, action="stamp", count=4)
    assert refused.status_code == 409
    assert refused.json()["refusal"] == "visit_limit"
    assert refused.json()["message"] == "At most 3 stamps can be given in one visit."
    assert refused.json()["card"]["stamps"] == 3  # the screen still shows whose card it is
    assert ledger(card) == [("stamp", 3)]


def test_cooldown_refusal_is_the_engines_sentence_in_the_users_language(scan, card):
    card.program.cooldown_seconds = 3600
    card.program.save()
    assert scan(card.code, action="stamp").status_code == 200
    refused = scan(card.code, action="stamp", language="th")
    assert refused.status_code == 429
    assert refused.json()["refusal"] == "cooldown"
    assert "ชั่วโมง" in refused.json()["message"] or "นาที" in refused.json()["message"]
    assert ledger(card) == [("stamp", 1)]


def test_daily_cap_and_inactive_program(scan, card):
    card.program.max_stamps_per_day = 1
    card.program.save()
    scan(card.code, action="stamp")
    refused = scan(card.code, action="stamp")
    assert refused.json()["refusal"] == "daily_limit"
    assert refused.json()["message"] == "This card has reached today's limit of 1 stamp."
    card.program.status = "paused"
    card.program.save()
    assert scan(card.code, action="stamp").json()["refusal"] == "program_inactive"
    assert ledger(card) == [("stamp", 1)]


@pytest.mark.parametrize(
    ("code", "refusal", "status"),
    [
        ("ZZZZ-ZZZZ0", "card_not_found", 404),  # a well-formed code no card has
        ("not a code at all!", "unknown_code", 404),
        ("<script>alert(1)</script>", "unknown_code", 404),
        ("'; DROP TABLE loyalty_card; --", "unknown_code", 404),
    ],
)
def test_forged_or_unknown_codes(scan, card, code, refusal, status):
    from stampcard.loyalty.card_codes import check_symbol

    if code.startswith("ZZZZ"):
        code = "ZZZZZZZZ" + check_symbol("ZZZZZZZZ")
    response = scan(code, action="stamp")
    assert response.status_code == status
    assert response.json()["refusal"] == refusal
    assert StampEvent.objects.count() == 0


def test_a_card_of_another_business_is_not_found(scan, other_business):
    foreign = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    response = scan(foreign.code, action="stamp")
    assert response.status_code == 404
    assert response.json()["refusal"] == "card_not_found"
    assert foreign.customer.name.encode() not in response.content
    assert StampEvent.objects.count() == 0


def test_a_revoked_device_is_refused_at_its_next_scan(scan, card, scanner, business, staff_actor):
    assert scan(card.code, action="stamp").status_code == 200
    revoke_device(business=business, actor=staff_actor, device=scanner.device)
    response = scan(card.code, action="stamp")
    assert response.status_code == 403
    assert response.json()["code"] == "device_revoked"
    assert ledger(card) == [("stamp", 1)]


def test_an_unknown_device_token_is_refused(scan, card):
    response = scan(card.code, action="stamp", token="x" * 43)
    assert response.status_code == 401
    assert StampEvent.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"code": "X"}',
        json.dumps({"code": "", "nonce": "n" * 10, "scanned_at": "2026-01-01T00:00:00Z"}).encode(),
        json.dumps(
            {"code": "ABC", "nonce": "short", "scanned_at": "2026-01-01T00:00:00Z"}
        ).encode(),
        json.dumps({"code": "ABC", "nonce": "n" * 10, "scanned_at": "yesterday"}).encode(),
        json.dumps(
            {"code": "ABC", "nonce": "n" * 10, "scanned_at": "2026-01-01T00:00:00"}
        ).encode(),
        b'{"code": "\\u0000", "nonce": "nnnnnnnnnn", "scanned_at": "2026-01-01T00:00:00Z"}',
        b"{" + b'"code": "A",' * 2000 + b"}",
    ],
)
def test_malformed_requests_get_a_clear_400(client, scanner, card, raw):
    response = client.post(
        "/device/scan",
        raw,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {scanner.token}",
        HTTP_ACCEPT_LANGUAGE="uk",
    )
    assert response.status_code == 400
    assert response.json()["refusal"] == "invalid_scan"
    assert response.json()["message"] == "Не вдалося прочитати скан. Відскануйте код ще раз."  # noqa: RUF001
    assert StampEvent.objects.count() == 0


def test_invalid_fields_are_refused(scan, card):
    for fields in ({"action": "explode"}, {"count": "2"}, {"count": 0}, {"count": True}):
        response = scan(card.code, **fields)
        assert response.status_code == 400, fields
    assert StampEvent.objects.count() == 0


def test_scan_time_bounds_the_offline_queue(scan, card):
    old = scan(card.code, action="stamp", scanned_at=timezone.now() - timedelta(days=2))
    assert old.status_code == 422
    assert old.json()["refusal"] == "scan_too_old"
    future = scan(card.code, action="stamp", scanned_at=timezone.now() + timedelta(hours=1))
    assert future.json()["refusal"] == "scan_in_future"
    queued = scan(card.code, action="stamp", scanned_at=timezone.now() - timedelta(hours=3))
    assert queued.json()["outcome"] == "stamped"
    assert ledger(card) == [("stamp", 1)]


def test_a_stamp_by_another_team_member_since_the_screen_showed_the_card(
    scan, card, business, owner
):
    shown = scan(card.code).json()["card"]
    assert shown["last_event"] == 0
    # Meanwhile another team member, at another till, stamps the same card.
    add_stamps(
        business=business,
        actor=factories.member_actor(business, role="staff"),
        source="staff",
        card_code=card.code,
    )
    refused = scan(card.code, action="stamp", seen_event=shown["last_event"])
    assert refused.status_code == 409
    assert refused.json()["refusal"] == "already_stamped"
    assert "Another team member stamped this card" in refused.json()["message"]
    assert refused.json()["card"]["stamps"] == 1
    # Shown again, the screen says who was first; a fresh tap (it has seen the row) stamps.
    again = scan(card.code).json()["card"]
    assert again["last_stamp"]["by_you"] is False
    assert again["last_stamp"]["seconds_ago"] < 30
    stamped = scan(card.code, action="stamp", seen_event=again["last_event"])
    assert stamped.json()["outcome"] == "stamped"
    assert ledger(card) == [("stamp", 1), ("stamp", 1)]


def test_undo_of_the_last_stamp_is_a_correction_once(scan, card):
    stamped = scan(card.code, action="stamp", count=1).json()
    event_id = stamped["card"]["last_stamp"]["event_id"]
    undone = scan(card.code, action="undo", event_id=event_id)
    assert undone.status_code == 200
    assert undone.json()["outcome"] == "undone"
    assert undone.json()["card"]["stamps"] == 0
    assert ledger(card) == [("stamp", 1), ("correction", -1)]
    again = scan(card.code, action="undo", event_id=event_id)
    assert again.json()["refusal"] == "undo_not_possible"
    assert ledger(card) == [("stamp", 1), ("correction", -1)]
    card.refresh_from_db()
    assert card.stamps == 0
    assert card.lifetime_stamps == 0


def test_undo_only_for_who_stamped_and_only_soon(scan, card, business, shop, staff_actor):
    other = pair_device(business=business, actor=staff_actor, name="Till 2", kind="scanner")
    stamped = scan(card.code, action="stamp", token=other.token).json()
    event_id = stamped["card"]["last_stamp"]["event_id"]
    refused = scan(card.code, action="undo", event_id=event_id)
    assert refused.status_code == 403
    assert refused.json()["refusal"] == "undo_not_yours"
    StampEvent.objects.filter(pk=event_id).update(created_at=timezone.now() - timedelta(minutes=10))
    late = scan(card.code, action="undo", event_id=event_id, token=other.token)
    assert late.json()["refusal"] == "undo_too_late"
    # An event of another card is not this card's to undo.
    mine = scan(card.code, action="stamp").json()["card"]["last_stamp"]["event_id"]
    other_card = factories.CardFactory(program=card.program)
    assert scan(other_card.code, action="undo", event_id=mine).json()["refusal"] == (
        "undo_not_possible"
    )
    assert [d for _, d in ledger(card)] == [1, 1]


def test_a_ready_reward_is_shown_and_handed_over_once(scan, card):
    card.program.stamps_goal = 2
    card.program.max_stamps_per_visit = 2
    card.program.save()
    done = scan(card.code, action="stamp", count=2).json()
    assert done["card"]["stamps"] == 0
    [ready] = done["card"]["rewards_ready"]
    assert ready["title"] == "Free coffee"
    assert scan(card.code).json()["card"]["rewards_ready"] == [ready]
    handed = scan(card.code, action="hand_over", reward_id=ready["id"])
    assert handed.json()["outcome"] == "handed_over"
    assert handed.json()["message"] == "Reward handed over: Free coffee."
    assert handed.json()["card"]["rewards_ready"] == []
    again = scan(card.code, action="hand_over", reward_id=ready["id"])
    assert again.json()["refusal"] == "reward_not_ready"
    assert Reward.objects.get().status == "redeemed"
    # The stamp that earned it is not undone at the counter.
    undo = scan(card.code, action="undo", event_id=done["card"]["last_stamp"]["event_id"])
    assert undo.json()["refusal"] == "undo_earned_reward"


def test_a_reward_of_another_card_is_not_handed_over_from_this_one(scan, card, business):
    card.program.stamps_goal = 1
    card.program.save()
    other = factories.CardFactory(program=card.program)
    reward_id = scan(other.code, action="stamp").json()["card"]["rewards_ready"][0]["id"]
    refused = scan(card.code, action="hand_over", reward_id=reward_id)
    assert refused.json()["refusal"] == "reward_not_ready"
    assert Reward.objects.get().status == "ready"


def test_kiosk_and_autopilot_stamp_with_their_own_source(
    client, business, shop, staff_actor, card, settings
):
    settings.SELF_SERVICE_MIN_COOLDOWN_SECONDS = 0  # one card, stamped by both stations
    for kind in ("kiosk", "autopilot"):
        device = pair_device(business=business, actor=staff_actor, name=kind, kind=kind)
        response = client.post(
            "/device/scan",
            json.dumps(body(card.code, action="stamp")),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Device {device.token}",
        )
        assert response.json()["outcome"] == "stamped"
        assert StampEvent.objects.filter(actor_device=device.device).get().source == kind
    assert Device.objects.count() == 2


def test_an_api_actor_without_scopes_cannot_stamp(business, card):
    from stampcard.counter.scan import Scan, answer_scan
    from stampcard.tenancy.actors import ActorKind

    answer = answer_scan(
        business=business,
        actor=Actor(kind=ActorKind.API, business_id=business.pk),
        scan=Scan(code=card.code, nonce="n" * 10, scanned_at=timezone.now(), action="stamp"),
    )
    assert answer.status == 403
    assert answer.body["refusal"] == "not_allowed"


def test_ready_rewards_are_named_in_the_customers_language(scan, business):
    """A Thai customer at the kiosk (or before the cashier) reads the rewards in Thai; a
    customer whose language has no text reads the default language's."""
    program = factories.ProgramFactory(
        business=business,
        stamps_goal=4,
        max_stamps_per_visit=4,
        reward_title="Free coffee",
        translations={"th": {"reward_title": "กาแฟฟรี"}},
    )
    factories.MilestoneFactory(
        program=program,
        stamps=2,
        reward_title="Free cookie",
        translations={"th": {"reward_title": "คุกกี้ฟรี"}},
    )
    thai = factories.CardFactory(program=program, customer__language="th")
    kazakh = factories.CardFactory(program=program, customer__language="kk")
    for card, titles in (
        (thai, ["คุกกี้ฟรี", "กาแฟฟรี"]),
        (kazakh, ["Free cookie", "Free coffee"]),
    ):
        done = scan(card.code, action="stamp", count=4).json()
        ready = done["card"]["rewards_ready"]
        assert [r["title"] for r in ready] == titles
        assert scan(card.code).json()["card"]["rewards_ready"] == ready
        handed = scan(card.code, action="hand_over", reward_id=ready[0]["id"]).json()
        assert handed["message"] == f"Reward handed over: {titles[0]}."
