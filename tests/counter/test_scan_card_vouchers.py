"""A card scanned at the counter shows its vouchers that this actor may redeem now, and one
tap redeems one of them (action ``redeem``): a Staff-Scan voucher has no code on the web card
to scan."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from stampcard.counter import cards
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.services import pair_device
from stampcard.vouchers.models import Voucher, VoucherOrigin
from stampcard.vouchers.services import issue_voucher, void_voucher
from stampcard.vouchers.validity import Validity, ValidityRule
from tests import factories
from tests.counter.conftest import body


def issue(business, **kwargs):
    fields = {
        "title": "Free cake",
        "origin": VoucherOrigin.MANUAL,
        "redemption_method": "staff_scan",
    } | kwargs
    return issue_voucher(business=business, actor=Actor(kind=ActorKind.ADMIN), **fields)


@pytest.fixture
def statements(monkeypatch):
    """Every statement the card answer runs on its hot-path cursor."""
    seen = []
    real = cards.hot_path_cursor

    class Counting:
        def __init__(self, cursor):
            self.cursor = cursor

        def __enter__(self):
            self.inner = self.cursor.__enter__()
            return self

        def __exit__(self, *exc):
            return self.cursor.__exit__(*exc)

        def execute(self, sql, params=None):
            seen.append(sql)
            return self.inner.execute(sql, params)

        def fetchall(self):
            return self.inner.fetchall()

    monkeypatch.setattr(cards, "hot_path_cursor", lambda db=None: Counting(real(db)))
    return seen


def test_the_card_lists_the_vouchers_the_scanner_may_redeem(scan, business, card, program):
    week = ValidityRule(Validity.DAYS, 7)
    staff_scan = issue(business, card=card, title="Birthday cake", validity=week)
    redeem_code = issue(
        business, card=card, title="Free coffee", redemption_method="redeem_code", code="CAFE-1"
    )
    issue(business, card=card, title="Self", redemption_method="self")  # the customer's to confirm
    issue(business, card=factories.CardFactory(program=program), title="Another card's")
    void_voucher(
        business=business,
        actor=Actor(kind=ActorKind.ADMIN),
        voucher=issue(business, card=card, title="Voided"),
        reason="test",
    )
    shown = scan(card.code).json()["card"]["vouchers"]
    assert [v["id"] for v in shown] == [staff_scan.pk, redeem_code.pk]  # soonest to end first
    assert shown[0]["title"] == "Birthday cake"
    assert shown[0]["validity"].startswith("Valid until ")
    assert shown[0]["valid_until"]
    assert shown[1]["validity"] == "Valid with no end date."


def test_at_most_ten_vouchers_are_listed(scan, business, card):
    for n in range(12):
        issue(business, card=card, title=f"Gift {n}")
    assert len(scan(card.code).json()["card"]["vouchers"]) == cards.CARD_VOUCHERS == 10


def test_an_autopilot_station_sees_no_vouchers(client, business, staff_actor, card):
    issue(business, card=card)
    station = pair_device(business=business, actor=staff_actor, name="Door", kind="autopilot")
    answer = client.post(
        "/device/scan",
        json.dumps(body(card.code, action="stamp")),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {station.token}",
    ).json()
    assert answer["card"]["vouchers"] == []


def test_one_statement_without_vouchers_and_one_more_with_them(business, card, statements):
    actor = Actor(kind=ActorKind.ADMIN)
    assert cards.card_answer(business_id=business.pk, actor=actor, code=card.code)["vouchers"] == []
    assert len(statements) == 1
    issue(business, card=card)
    statements.clear()
    shown = cards.card_answer(business_id=business.pk, actor=actor, code=card.code)
    assert len(shown["vouchers"]) == 1
    assert len(statements) == 2


def test_one_tap_redeems_a_voucher_of_the_card_once(scan, business, card, shop):
    voucher = issue(business, card=card)
    nonce = "redeem-nonce-1"
    done = scan(card.code, action="redeem", voucher_id=voucher.pk, nonce=nonce)
    assert done.status_code == 200
    answer = done.json()
    assert answer["outcome"] == "redeemed"
    assert answer["kind"] == "voucher"
    assert answer["message"] == "Voucher redeemed: Free cake."
    assert answer["card"]["vouchers"] == []  # redeemed: no longer offered
    redeemed = Voucher.objects.get(pk=voucher.pk)
    assert redeemed.status == "redeemed"
    assert redeemed.redeemed_at_location_id == shop.pk
    again = scan(card.code, action="redeem", voucher_id=voucher.pk, nonce=nonce)
    assert again.json() == answer  # the same tap sent again: the first answer, nothing more
    assert again["Idempotent-Replayed"] == "true"
    used = scan(card.code, action="redeem", voucher_id=voucher.pk).json()
    assert used["refusal"] == "already_used"
    assert used["voucher"]["redeemed_where"] == "Riverside"


def test_a_voucher_is_redeemed_only_from_its_own_card(scan, business, card, program):
    other = issue(business, card=factories.CardFactory(program=program))
    refused = scan(card.code, action="redeem", voucher_id=other.pk)
    assert refused.status_code == 404
    assert refused.json()["refusal"] == "voucher_not_found"
    assert scan(card.code, action="redeem").json()["refusal"] == "voucher_not_found"
    assert Voucher.objects.get(pk=other.pk).status == "active"


def test_redeeming_keeps_the_vouchers_own_rules(scan, business, card):
    mine = issue(business, card=card, redemption_method="self")
    refused = scan(card.code, action="redeem", voucher_id=mine.pk).json()
    assert refused["refusal"] == "wrong_redemption_method"
    later = issue(business, card=card, now=timezone.now() + timedelta(days=2))
    assert scan(card.code, action="redeem", voucher_id=later.pk).json()["refusal"] == (
        "voucher_not_yet_valid"
    )
    assert Voucher.objects.filter(status="active").count() == 2


def test_a_station_that_redeems_nothing_learns_nothing(client, business, staff_actor, card):
    voucher = issue(business, card=card)
    station = pair_device(business=business, actor=staff_actor, name="Door", kind="autopilot")
    response = client.post(
        "/device/scan",
        json.dumps(body(card.code, action="redeem", voucher_id=voucher.pk + 1000)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {station.token}",
    )
    assert response.json()["refusal"] == "not_allowed"
    assert Voucher.objects.get(pk=voucher.pk).status == "active"
