"""Every dashboard page at phone width in Kazakh (the longest words of our five languages):
the page never scrolls sideways, a wide table stacks into labelled rows instead (screenshots
kept for people to look at, with SCREENSHOT_DIR)."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from stampcard.audit.services import record
from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.vouchers.claims import create_claim_batch
from tests import factories
from tests.browser.test_customers import PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    "",
    "customers/",
    "customers/{customer}/",
    "cards/{code}/",
    "programs/{program}/",
    "programs/{program}/print/",
    "vouchers/",
    "vouchers/issue/",
    "analytics/",
    "claims/",
    "receipt-keys/",
    "redeem-codes/",
    "devices/",
    "locations/",
    "team/",
    "settings/",
    "audit/",
    "export/",
    "import/",
    "customers/import/",
]


@pytest.fixture
def busy(business, program, shop, owner):
    actor = Actor(kind=ActorKind.STAFF, user_id=owner.pk)
    with scopes_disabled():
        card = factories.CardFactory(program=program, customer__name="Айгерім Сейітқазықызы")
        for _ in range(3):
            add_stamps(business=business, actor=actor, source=StampSource.STAFF, card_id=card.pk)
        create_claim_batch(
            business=business, actor=actor, program=program, count=5, label="Delivery bags"
        )
        record(business=business, actor=actor, action="program.update", target=program)
    return card


def test_no_dashboard_page_scrolls_sideways_on_a_phone_in_kazakh(
    page, live_server, business, busy, shots
):
    page.set_viewport_size(PHONE)
    log_in(page, live_server)
    page.context.add_cookies([{"name": "django_language", "value": "kk", "url": live_server.url}])
    names = {"customer": busy.customer_id, "code": busy.code, "program": busy.program_id}
    wide = {}
    for path in PAGES:
        response = page.goto(f"{live_server.url}/b/{business.slug}/{path.format(**names)}")
        assert response is not None
        assert response.status == 200, path
        expect(page.locator("html")).to_have_attribute("lang", "kk")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = width
        name = path.strip("/").replace("/", "-").replace("{", "").replace("}", "") or "overview"
        page.screenshot(path=str(shots / f"kk-390-{name}.png"), full_page=True)
    assert wide == {}
