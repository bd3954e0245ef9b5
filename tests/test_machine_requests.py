"""Scans, the PassKit web service and health probes take the short middleware chain
(``stampcard.machine_requests``); pages for people keep the whole one."""

import json

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware

from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.services import pair_device, revoke_device
from tests.counter.conftest import body


class PeopleOnly(AssertionError):
    pass


@pytest.fixture
def people_chain_refuses(monkeypatch):
    """Middleware only people's pages run raises if a request reaches it."""

    def refuse(*args, **kwargs):
        raise PeopleOnly()

    monkeypatch.setattr(SessionMiddleware, "process_request", refuse)
    monkeypatch.setattr(CsrfViewMiddleware, "process_request", refuse)


@pytest.fixture
def device(business, shop, staff_actor):
    return pair_device(
        business=business, actor=staff_actor, name="Till 9", kind="autopilot", location=shop
    )


def post_scan(client, token, data, **headers):
    return client.post(
        "/device/scan",
        json.dumps(data),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
        **headers,
    )


@pytest.mark.django_db
def test_a_scan_never_reaches_the_middleware_made_for_people(
    client, device, card, people_chain_refuses
):
    response = post_scan(client, device.token, body(card.code, action="stamp"))
    assert response.status_code == 200
    assert response.json()["outcome"] == "stamped"
    assert StampEvent.objects.filter(card=card).count() == 1
    # No session was opened for it, and the security headers are still there.
    assert "sessionid" not in response.cookies
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_a_page_for_people_still_runs_the_whole_chain(client, people_chain_refuses):
    with pytest.raises(PeopleOnly):
        client.get("/accounts/login/")


@pytest.mark.django_db
def test_the_short_chain_answers_in_the_callers_language(client, device):
    response = post_scan(
        client, device.token, body("ZZZZZZZZZ", action="stamp"), HTTP_ACCEPT_LANGUAGE="th"
    )
    assert response.json()["ok"] is False
    assert response["Content-Language"] == "th"
    message = response.json()["message"]
    # Thai script only: no English sentence slipped through.
    assert message
    assert not any(ch.isascii() and ch.isalpha() for ch in message)


@pytest.mark.django_db
def test_the_door_still_refuses_a_revoked_device_at_once(
    client, business, device, card, staff_actor
):
    assert post_scan(client, device.token, body(card.code, action="stamp")).status_code == 200
    revoke_device(business=business, device=device.device, actor=staff_actor)
    refused = post_scan(client, device.token, body(card.code, action="stamp"))
    assert refused.status_code in (401, 403)
    assert StampEvent.objects.filter(card=card).count() == 1


@pytest.mark.django_db
def test_passkit_and_health_take_the_short_chain(client, people_chain_refuses):
    logged = client.post(
        "/passkit/v1/log", json.dumps({"logs": ["hello"]}), content_type="application/json"
    )
    assert logged.status_code == 200
    assert "Content-Language" not in logged  # no sentences: no language to work out
    assert client.get("/healthz").status_code == 200
