"""A burst of the same registration (wallet.md B1: devices are reported to send them)."""

import json

import pytest
from django.test import Client

from stampcard.wallet import passkit
from stampcard.wallet.models import PassRegistration
from tests.concurrency import needs_postgres, run_in_parallel

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def test_a_burst_of_one_registration_makes_one_row(card):
    url = f"/passkit/v1/devices/burst-device/registrations/pass.local.stampcard/{card.code}"
    token = passkit.authentication_token(card)

    def register(i: int) -> int:
        response = Client().post(
            url,
            data=json.dumps({"pushToken": f"push-{i}"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"ApplePass {token}",
        )
        return response.status_code

    results = run_in_parallel(register, 8, workers=8)
    assert sorted(results) == [200] * 7 + [201]
    assert PassRegistration.objects.filter(card=card).count() == 1
