"""Scans racing each other on PostgreSQL: one nonce applies once, two tills stamp once."""

import json

import pytest
from django.test import Client

from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.services import pair_device
from tests import factories
from tests.concurrency import needs_postgres, run_in_parallel
from tests.counter.conftest import body

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def post(token, data):
    return Client().post(
        "/device/scan",
        json.dumps(data),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
    )


def test_one_nonce_sent_eight_times_at_once_stamps_once_and_answers_alike(staff_actor, business):
    card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    till = pair_device(business=business, actor=staff_actor, name="Till", kind="scanner")
    data = body(card.code, action="stamp", nonce="same-nonce-for-all")

    responses = run_in_parallel(lambda i: post(till.token, data), 8, workers=8)

    assert [r.status_code for r in responses] == [200] * 8
    assert StampEvent.objects.filter(card=card).count() == 1
    answers = {json.dumps(r.json(), sort_keys=True) for r in responses}
    assert len(answers) == 1
    card.refresh_from_db()
    assert card.stamps == 1


def test_two_tills_that_saw_the_same_card_stamp_it_once(staff_actor, business):
    card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    tills = [
        pair_device(business=business, actor=staff_actor, name=f"Till {n}", kind="scanner")
        for n in range(6)
    ]

    responses = run_in_parallel(
        lambda i: post(tills[i].token, body(card.code, action="stamp", seen_event=0)), 6, workers=6
    )

    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["refused"] * 5 + ["stamped"]
    assert {r.json()["refusal"] for r in responses if r.status_code != 200} == {"already_stamped"}
    assert StampEvent.objects.filter(card=card).count() == 1
