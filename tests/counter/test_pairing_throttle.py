"""Guessing a pairing code: wrong codes count per client address (behind a proxy, the address
the proxy saw) and over all callers together, so many addresses get no more guesses than one
budget; the module's arithmetic holds for the constants in force."""

import re

import pytest
from django.core.cache import cache

from stampcard.counter import pairing
from stampcard.tenancy import errors
from stampcard.tenancy.models import Device, PairingCode
from stampcard.tenancy.services import (
    PAIRING_ALPHABET,
    PAIRING_CODE_LENGTH,
    PAIRING_CODE_LIFETIME,
    PAIRING_FAILURE_LIMIT,
    PAIRING_FAILURE_WINDOW,
    PAIRING_GLOBAL_FAILURE_LIMIT,
    create_pairing_code,
    pair_with_code,
)

WRONG = "ZZZZ-ZZZZ"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def behind_a_proxy(settings):
    """As settings.py configures it with BEHIND_TLS_PROXY: the proxy's X-Forwarded-For."""
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    settings.AXES_IPWARE_PROXY_COUNT = 1


def post(client, code, *, address, proxy=None):
    headers = {"REMOTE_ADDR": proxy or address}
    if proxy:
        headers["HTTP_X_FORWARDED_FOR"] = f"{address}, {proxy}"
    return client.post("/device/pair/", {"code": code}, HTTP_ACCEPT_LANGUAGE="en", **headers)


def test_behind_a_proxy_one_guesser_does_not_lock_out_the_shop(
    client, behind_a_proxy, business, staff_actor
):
    issued = create_pairing_code(business=business, actor=staff_actor, name="Till", kind="kiosk")
    for _ in range(PAIRING_FAILURE_LIMIT):
        assert post(client, WRONG, address="198.51.100.9", proxy="10.0.0.1").status_code == 400
    # The guesser is held up ...
    held = post(client, issued.code, address="198.51.100.9", proxy="10.0.0.1")
    assert held.status_code == 429
    # ... not the shop's tablet, which reaches us through the same proxy.
    paired = post(client, issued.code, address="203.0.113.5", proxy="10.0.0.1")
    assert paired.status_code == 302
    assert Device.objects.count() == 1


def test_many_addresses_share_one_budget_then_pairing_pauses_for_everyone(
    client, business, staff_actor
):
    issued = create_pairing_code(business=business, actor=staff_actor, name="Till", kind="kiosk")
    addresses = (f"192.0.2.{n % 250}" if n < 250 else f"198.51.100.{n % 250}" for n in range(10**4))
    guesses = 0
    while True:
        response = post(client, WRONG, address=next(addresses))
        if response.status_code == 429:
            break
        assert response.status_code == 400
        guesses += 1
    assert guesses == PAIRING_GLOBAL_FAILURE_LIMIT
    assert "Pairing is paused" in response.content.decode()
    # The right code too, from a fresh address: telling it apart would be one more guess.
    paused = post(client, issued.code, address="203.0.113.77")
    assert paused.status_code == 429
    assert PairingCode.objects.get().used_at is None
    # When the window is over, the code still pairs within its lifetime.
    cache.clear()
    assert post(client, issued.code, address="203.0.113.77").status_code == 302


def test_the_service_counts_used_and_expired_codes_too(business, staff_actor):
    issued = create_pairing_code(business=business, actor=staff_actor, name="T", kind="scanner")
    pair_with_code(code=issued.code, client="a")
    for _ in range(PAIRING_FAILURE_LIMIT):
        with pytest.raises(errors.PairingCodeUsed):
            pair_with_code(code=issued.code, client="a")
    with pytest.raises(errors.PairingThrottled):
        pair_with_code(code=issued.code, client="a")


def test_the_documented_arithmetic_matches_the_constants():
    space = len(PAIRING_ALPHABET) ** PAIRING_CODE_LENGTH
    doc = pairing.__doc__ or ""
    assert f"{space:,}" in doc
    assert PAIRING_CODE_LIFETIME.total_seconds() == 10 * 60
    assert PAIRING_FAILURE_WINDOW.total_seconds() == 15 * 60
    assert f"({PAIRING_FAILURE_LIMIT})" in doc
    assert f"({PAIRING_GLOBAL_FAILURE_LIMIT})" in doc
    # A lifetime no longer than the window overlaps at most two windows.
    assert PAIRING_CODE_LIFETIME <= PAIRING_FAILURE_WINDOW
    judged = 2 * PAIRING_GLOBAL_FAILURE_LIMIT
    assert re.search(rf"2 \* {PAIRING_GLOBAL_FAILURE_LIMIT} = {judged}\b", doc)
    assert judged / space < 1e-9
