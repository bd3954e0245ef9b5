"""Importing an export through the dashboard in real Chromium: the page, a refused file in
the owner's language, and the business filled (after onboarding made a shop and a draft
card: the draft replaced, the shop merged by name); phone and desktop."""

import pytest
from django_scopes import scopes_disabled

from stampcard.loyalty.models import Card, Program
from stampcard.loyalty.services import add_stamps
from stampcard.tenancy.models import Location
from tests import factories
from tests.browser.test_designer import DESKTOP, PHONE, logged_in
from tests.test_portability import OPERATOR, exported, remove

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("viewport", "language", "button", "refusal"),
    [
        (PHONE, "en", "Import", "This is not a stampcard export"),
        (PHONE, "th", "นำเข้า", "ไม่ใช่ไฟล์ส่งออกของ stampcard"),
        (DESKTOP, "en", "Import", "This is not a stampcard export"),
    ],
    ids=["phone-en", "phone-th", "desktop-en"],
)
def test_an_owner_imports_an_export_into_a_new_business(
    browser,
    live_server,
    owner,
    business,
    other_business,
    shots,
    viewport,
    language,
    button,
    refusal,
):
    with scopes_disabled():
        card = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
        factories.LocationFactory(business=other_business, name="Riverside", address="1 Quay")
        add_stamps(business=other_business, actor=OPERATOR, source="staff", card_id=card.pk)
        data = exported(other_business)
        remove(other_business)
        # What onboarding made here: the first shop and a draft card.
        shop = factories.LocationFactory(business=business, name="Riverside")
        draft = factories.ProgramFactory(business=business, status="draft")
    context, page = logged_in(browser, live_server, viewport, language)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    url = f"{live_server.url}/b/{business.slug}/import/"
    page.goto(url)
    size = "phone" if viewport == PHONE else "desktop"
    page.screenshot(path=shots / f"import-{size}-{language}.png", full_page=True)
    chooser = page.locator("input[name=export]")
    chooser.set_input_files({"name": "x.zip", "mimeType": "application/zip", "buffer": b"no zip"})
    page.get_by_role("button", name=button, exact=True).click()
    page.locator("p.error").wait_for()
    assert refusal in page.locator("p.error").inner_text()
    page.screenshot(path=shots / f"import-{size}-{language}-refused.png", full_page=True)
    page.locator("input[name=export]").set_input_files(
        {"name": "export.zip", "mimeType": "application/zip", "buffer": data}
    )
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(f"{live_server.url}/b/{business.slug}/")
    with scopes_disabled():
        assert Card.objects.get(business=business).code == card.code
        assert not Program.objects.filter(pk=draft.pk).exists()
        (merged,) = Location.objects.filter(business=business)
        assert (merged.pk, merged.address) == (shop.pk, "1 Quay")
    assert [e for e in errors if "Failed to load resource" not in e] == []
    context.close()
