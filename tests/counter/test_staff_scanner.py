"""The scanner for a member logged in: location limits, CSRF, masked contact details, search."""

import json

import pytest
from django.test import Client

from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.middleware import DEVICE_COOKIE
from tests import factories
from tests.counter.conftest import body


def post(client, business, data):
    return client.post(
        f"/b/{business.slug}/scanner/", json.dumps(data), content_type="application/json"
    )


def test_a_member_limited_to_a_shop_stamps_only_there(
    client, bob, business, shop, other_shop, card
):
    client.force_login(bob)
    page = client.get(f"/b/{business.slug}/scanner/")
    assert page.status_code == 200
    assert "wasm-unsafe-eval" in page["Content-Security-Policy"]
    # Bob works at Riverside only: he must say where he is, and it must be there.
    nowhere = post(client, business, body(card.code, action="stamp"))
    assert nowhere.status_code == 403
    elsewhere = post(client, business, body(card.code, action="stamp", location=other_shop.pk))
    assert elsewhere.json()["refusal"] == "not_allowed"
    here = post(client, business, body(card.code, action="stamp", location=shop.pk))
    assert here.json()["outcome"] == "stamped"
    event = StampEvent.objects.get()
    assert (event.actor_user_id, event.location_id) == (bob.pk, shop.pk)


def test_a_location_of_another_business_is_refused(client, owner, business, other_business, card):
    foreign = factories.LocationFactory(business=other_business)
    client.force_login(owner)
    response = post(client, business, body(card.code, action="stamp", location=foreign.pk))
    assert response.status_code == 400
    assert response.json()["refusal"] == "unknown_location"
    assert StampEvent.objects.count() == 0


def test_the_owners_scanner_needs_no_location(client, owner, business, card):
    client.force_login(owner)
    assert post(client, business, body(card.code, action="stamp")).json()["outcome"] == "stamped"


def test_the_scanner_page_carries_the_cameras_debounce_from_the_settings(
    client, owner, business, settings
):
    client.force_login(owner)
    assert 'data-debounce-ms="4000"' in client.get(f"/b/{business.slug}/scanner/").content.decode()
    settings.SCANNER_DEBOUNCE_SECONDS = 0.5
    assert 'data-debounce-ms="500"' in client.get(f"/b/{business.slug}/scanner/").content.decode()


def test_csrf_is_required_from_a_browser(owner, business, card):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = post(browser, business, body(card.code, action="stamp"))
    assert response.status_code == 403
    assert StampEvent.objects.count() == 0


def test_a_device_page_riding_its_cookie_needs_the_csrf_token(scanner, card):
    browser = Client(enforce_csrf_checks=True)
    browser.cookies[DEVICE_COOKIE] = scanner.token
    page = browser.get("/device/scanner/")
    assert page.status_code == 200
    assert "wasm-unsafe-eval" in page["Content-Security-Policy"]
    assert b"Till 1" in page.content
    assert b"Riverside" in page.content
    data = json.dumps(body(card.code, action="stamp"))
    refused = browser.post("/device/scan", data, content_type="application/json")
    assert refused.status_code == 403
    token = browser.cookies["csrftoken"].value
    done = browser.post(
        "/device/scan", data, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert done.json()["outcome"] == "stamped"


def test_only_the_scanner_page_may_compile_webassembly(client, owner, business):
    client.force_login(owner)
    assert "wasm-unsafe-eval" not in client.get(f"/b/{business.slug}/")["Content-Security-Policy"]


@pytest.fixture
def jane(business):
    program = factories.ProgramFactory(business=business)
    customer = factories.CustomerFactory(
        business=business, name="Jane Roe", email="jane@example.org", phone="+66812345678"
    )
    return factories.CardFactory(program=program, customer=customer)


def search(client, business, q):
    return client.get(f"/b/{business.slug}/scanner/cards", {"q": q}).json()["cards"]


def test_forgot_the_phone_staff_see_masked_contacts_and_need_the_whole_value(
    client, bob, business, jane
):
    client.force_login(bob)
    [found] = search(client, business, "jane r")
    assert found["email"] == "j•••@example.org"
    assert found["phone"] == "+66 ••• ••• 678"
    assert search(client, business, "jane@example.org")[0]["customer"] == "Jane Roe"
    assert search(client, business, "+66 81 234 5678")[0]["customer"] == "Jane Roe"
    # A part of an e-mail or a number would uncover the masked value: it finds nothing.
    assert search(client, business, "jane@") == []
    assert search(client, business, "2345") == []


def test_forgot_the_phone_managers_see_everything(client, maria, business, jane):
    client.force_login(maria)
    [found] = search(client, business, "jane@")
    assert found["email"] == "jane@example.org"


def test_the_search_never_crosses_businesses(
    client, charlie, owner, business, other_business, jane
):
    client.force_login(owner)
    factories.CardFactory(
        program=factories.ProgramFactory(business=other_business),
        customer=factories.CustomerFactory(business=other_business, name="Jane Rival"),
    )
    assert [c["customer"] for c in search(client, business, "jane")] == ["Jane Roe"]


def test_a_scanner_device_searches_too(client, scanner, jane):
    response = client.get(
        "/device/cards", {"q": "Jane"}, HTTP_AUTHORIZATION=f"Device {scanner.token}"
    )
    assert response.json()["cards"][0]["email"] == "j•••@example.org"
