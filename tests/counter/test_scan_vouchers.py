"""The scan endpoint with vouchers and redeem codes: consumed once, every refusal explained."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.services import pair_device
from stampcard.vouchers.models import Voucher, VoucherOrigin
from stampcard.vouchers.services import issue_voucher, void_voucher
from tests import factories
from tests.counter.conftest import body


def issue(business, **kwargs):
    fields = {
        "title": "Free cake",
        "origin": VoucherOrigin.MANUAL,
        "redemption_method": "staff_scan",
    } | kwargs
    return issue_voucher(business=business, actor=Actor(kind=ActorKind.ADMIN), **fields)


def test_a_staff_scan_voucher_is_redeemed_once_with_when_and_where(scan, business, card, shop):
    voucher = issue(business, card=card)
    done = scan(voucher.token)
    assert done.status_code == 200
    assert done.json()["outcome"] == "redeemed"
    assert done.json()["kind"] == "voucher"
    assert done.json()["message"] == "Voucher redeemed: Free cake."
    assert done.json()["voucher"]["customer"] == card.customer.name
    assert done.json()["voucher"]["redeemed_where"] == "Riverside"
    again = scan(voucher.token)
    assert again.status_code == 409
    assert again.json()["refusal"] == "already_used"
    assert again.json()["message"].startswith("This voucher was already redeemed on ")
    assert again.json()["message"].endswith((" a.m.", " p.m.", "noon.", "midnight."))
    assert again.json()["voucher"]["redeemed_where"] == "Riverside"
    assert Voucher.objects.get().status == "redeemed"


def test_the_voucher_link_in_its_qr_code_works_too(scan, business):
    voucher = issue(business)
    assert scan(f"http://shop.example/v/{voucher.token}/").json()["outcome"] == "redeemed"


def test_a_replayed_redemption_is_the_same_answer(scan, business):
    voucher = issue(business)
    first = scan(voucher.token, nonce="voucher-nonce-1")
    again = scan(voucher.token, nonce="voucher-nonce-1")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"valid_until": timezone.now() - timedelta(hours=1)}, "voucher_expired"),
        ({"valid_from": timezone.now() + timedelta(days=2)}, "voucher_not_yet_valid"),
    ],
)
def test_expired_and_not_yet_valid_vouchers(scan, business, change, refusal):
    voucher = issue(business)
    Voucher.objects.filter(pk=voucher.pk).update(**change)
    response = scan(voucher.token)
    assert response.status_code == 409
    assert response.json()["refusal"] == refusal
    assert Voucher.objects.get().status == "active"


def test_a_void_voucher_and_one_redeemed_by_its_holder(scan, business, staff_actor):
    voucher = issue(business)
    void_voucher(business=business, actor=staff_actor, voucher=voucher, reason="mistake")
    assert scan(voucher.token).json()["refusal"] == "voucher_void"
    own = issue(business, redemption_method="self")
    response = scan(own.token)
    assert response.status_code == 403
    assert response.json()["refusal"] == "wrong_redemption_method"


def test_a_voucher_of_another_business(scan, other_business):
    foreign = issue(other_business)
    response = scan(foreign.token)
    assert response.status_code == 404
    assert response.json()["refusal"] == "wrong_business"
    assert response.json()["message"] == "This voucher belongs to another business."
    assert Voucher.objects.get().status == "active"


def test_a_forged_voucher_token_is_not_found(scan, business):
    issue(business)
    response = scan("A" * 43)
    assert response.json()["refusal"] == "voucher_not_found"
    assert Voucher.objects.get().status == "active"


def test_a_redeem_code_typed_or_scanned_is_checked_and_marked_used(scan, business):
    voucher = issue(business, redemption_method="redeem_code", code="CAKE-4821")
    done = scan(" CAKE-4821 ")
    assert done.json()["outcome"] == "redeemed"
    assert done.json()["kind"] == "redeem_code"
    again = scan("CAKE-4821")
    assert again.json()["refusal"] == "already_used"
    assert again.json()["kind"] == "redeem_code"
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"
    assert scan("CAKE-0000").json()["refusal"] == "voucher_not_found"


def test_a_redeem_code_that_looks_like_a_card_code(scan, business):
    from stampcard.loyalty.card_codes import check_symbol

    code = "ABCDEFGH" + check_symbol("ABCDEFGH")
    issue(business, redemption_method="redeem_code", code=code)
    assert scan(code).json()["outcome"] == "redeemed"


def test_an_autopilot_station_may_not_redeem(client, business, staff_actor):
    voucher = issue(business)
    autopilot = pair_device(business=business, actor=staff_actor, name="Wedge", kind="autopilot")
    response = client.post(
        "/device/scan",
        json.dumps(body(voucher.token)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {autopilot.token}",
    )
    assert response.status_code == 403
    assert response.json()["refusal"] == "not_allowed"
    assert response.json()["voucher"] is None  # nothing about the voucher to who may not redeem
    assert Voucher.objects.get().status == "active"


def test_a_member_limited_elsewhere_cannot_redeem_here(client, business, shop, other_shop):
    voucher = issue(business)
    actor = factories.member_actor(business, role="staff", locations=[other_shop])
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(pk=actor.user_id))
    response = client.post(
        f"/b/{business.slug}/scanner/",
        json.dumps(body(voucher.token, location=shop.pk)),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Voucher.objects.get().status == "active"
