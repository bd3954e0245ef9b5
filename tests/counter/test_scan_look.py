"""The scan endpoint's ``look``: a voucher's title, description and validity, and whether it
can be redeemed here, with nothing written (no redemption, no idempotency record)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from stampcard.idempotency.models import IdempotencyKey
from stampcard.tenancy.services import pair_device
from stampcard.vouchers.models import Voucher
from tests.counter.conftest import body
from tests.counter.test_scan_vouchers import issue


@pytest.fixture
def kiosk_scan(client, business, shop, staff_actor):
    kiosk = pair_device(
        business=business, actor=staff_actor, name="Tablet", kind="kiosk", location=shop
    )

    def send(code, *, language="en", **fields):
        return client.post(
            "/device/scan",
            json.dumps(body(code, **({"action": "look"} | fields))),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Device {kiosk.token}",
            HTTP_ACCEPT_LANGUAGE=language,
        )

    return send


def test_a_self_redeem_voucher_is_shown_to_the_kiosk_and_stays_unused(kiosk_scan, business):
    voucher = issue(
        business,
        redemption_method="self",
        title="Free cookie",
        description="Any cookie from the jar",
    )
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=timezone.now() + timedelta(days=3))
    for _ in range(2):  # looking twice is no replay: nothing was kept
        response = kiosk_scan(voucher.token, nonce="look-nonce-1")
        assert response.status_code == 200
        answer = response.json()
        assert (answer["ok"], answer["outcome"], answer["kind"]) == (True, "looked", "voucher")
        assert answer["message"] == "This voucher can be redeemed now."
        assert answer["voucher"]["title"] == "Free cookie"
        assert answer["voucher"]["description"] == "Any cookie from the jar"
        assert answer["voucher"]["validity"].startswith("Valid until ")
        assert answer["voucher"]["valid_until"] is not None
        assert "Idempotent-Replayed" not in response
    assert Voucher.objects.get().status == "active"
    assert not IdempotencyKey.objects.exists()


def test_the_voucher_link_works_and_no_end_date_is_said(kiosk_scan, business):
    voucher = issue(business, redemption_method="self")
    answer = kiosk_scan(f"http://shop.example/v/{voucher.token}/").json()
    assert answer["outcome"] == "looked"
    assert answer["voucher"]["validity"] == "Valid with no end date."


@pytest.mark.parametrize(
    ("change", "refusal", "says"),
    [
        ({"status": "redeemed", "redeemed_at": timezone.now()}, "already_used",
         "This voucher was already redeemed on "),
        ({"valid_until": timezone.now() - timedelta(hours=1)}, "voucher_expired",
         "This voucher expired on "),
        ({"valid_from": timezone.now() + timedelta(days=2)}, "voucher_not_yet_valid",
         "This voucher is valid from "),
        ({"status": "void"}, "voucher_void", "This voucher was cancelled."),
    ],
)  # fmt: skip
def test_a_voucher_that_cannot_be_used_is_shown_with_the_engines_sentence(
    kiosk_scan, business, change, refusal, says
):
    voucher = issue(business, redemption_method="self", title="Free cookie")
    Voucher.objects.filter(pk=voucher.pk).update(**change)
    response = kiosk_scan(voucher.token)
    assert response.status_code == 409
    answer = response.json()
    assert (answer["ok"], answer["outcome"], answer["refusal"]) == (False, "refused", refusal)
    assert answer["message"].startswith(says)
    assert answer["kind"] == "voucher"
    assert answer["voucher"]["title"] == "Free cookie"
    assert not IdempotencyKey.objects.exists()


def test_a_not_yet_valid_voucher_says_from_when(kiosk_scan, business):
    voucher = issue(business, redemption_method="self")
    Voucher.objects.filter(pk=voucher.pk).update(valid_from=timezone.now() + timedelta(days=2))
    assert kiosk_scan(voucher.token).json()["voucher"]["validity"].startswith("Valid from ")


def test_a_staff_scan_voucher_at_a_kiosk_says_staff_must_scan_it(kiosk_scan, business):
    voucher = issue(business)  # staff scan
    for action in ("look", "stamp"):
        response = kiosk_scan(voucher.token, action=action)
        assert response.status_code == 403
        assert response.json()["refusal"] == "staff_scan_only"
        assert response.json()["message"] == (
            "A team member scans this voucher to redeem it. Please show it at the counter."
        )
        assert response.json()["voucher"] is None
    assert Voucher.objects.get().status == "active"


def test_a_voucher_of_another_business_and_a_forged_one(kiosk_scan, other_business):
    foreign = issue(other_business, redemption_method="self")
    answer = kiosk_scan(foreign.token).json()
    assert answer["refusal"] == "wrong_business"
    assert answer["message"] == "This voucher belongs to another business."
    assert kiosk_scan("A" * 43).json()["refusal"] == "voucher_not_found"
    assert kiosk_scan("no such code!").json()["refusal"] == "unknown_code"


def test_the_staff_scanner_can_look_at_a_redeem_code_without_using_it(scan, business):
    issue(business, redemption_method="redeem_code", code="CAKE-4821")
    answer = scan("CAKE-4821", action="look").json()
    assert (answer["outcome"], answer["kind"]) == ("looked", "redeem_code")
    assert Voucher.objects.get().status == "active"
    assert scan("CAKE-4821").json()["outcome"] == "redeemed"


def test_an_autopilot_station_learns_nothing(client, business, staff_actor):
    voucher = issue(business, redemption_method="self")
    autopilot = pair_device(business=business, actor=staff_actor, name="Wedge", kind="autopilot")
    response = client.post(
        "/device/scan",
        json.dumps(body(voucher.token, action="look")),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {autopilot.token}",
    )
    assert response.status_code == 403
    assert response.json()["refusal"] == "not_allowed"
    assert response.json()["voucher"] is None


def test_the_answer_is_in_the_devices_language(kiosk_scan, business):
    voucher = issue(business, redemption_method="self")
    answer = kiosk_scan(voucher.token, language="ru").json()
    assert answer["message"] != "This voucher can be redeemed now."
    assert answer["voucher"]["validity"] != "Valid with no end date."
