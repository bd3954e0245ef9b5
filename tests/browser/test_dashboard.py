"""An owner logs in and finds their business, a card and its history, in two languages."""

import pytest
from django_scopes import scopes_disabled

from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.tenancy.actors import Actor, ActorKind

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_owner_finds_a_customers_card_and_its_ledger(page, live_server, owner, card, tmp_path):
    with scopes_disabled():
        for _ in range(3):
            add_stamps(
                business=card.business,
                actor=Actor(kind=ActorKind.STAFF, user_id=owner.pk),
                source=StampSource.STAFF,
                card_id=card.pk,
            )
    log_in(page, live_server, "owner", "pw-owner-1234")

    page.get_by_role("heading", name="Corner Cafe").wait_for()
    assert page.get_by_role("link", name="Coffee card").is_visible()
    page.get_by_label("Search cards").fill(card.customer.email)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=card.display_code).click()

    assert page.get_by_label("Stamps").inner_text().startswith("3 / 10")
    assert page.locator("table tbody tr").count() == 3
    page.screenshot(path=tmp_path / "card.png", full_page=True)

    page.get_by_label("Language").select_option("ru")
    page.get_by_role("heading", name="История штампов").wait_for()


def test_wrong_password_is_explained(page, live_server, owner):
    log_in(page, live_server, "owner", "not-the-password")
    alert = page.get_by_role("alert")
    alert.wait_for()  # the page reloads after the form is sent
    assert "not right" in alert.inner_text()


def test_a_member_of_another_business_gets_not_found(page, live_server, owner, other_owner):
    log_in(page, live_server, "rival", "pw-rival-1234")
    page.get_by_role("heading", name="Rival Bakery").wait_for()
    response = page.goto(f"{live_server.url}/b/corner-cafe/")
    assert response is not None
    assert response.status == 404
