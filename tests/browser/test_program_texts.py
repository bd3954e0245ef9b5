"""A Thai customer's join page and web card, at a phone's size, show the owner's Thai texts.

Screenshots are kept (``STAMPCARD_SCREENSHOTS`` names a folder to keep them in, else the test's
temporary folder) for people to look at.
"""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from stampcard.loyalty import links
from stampcard.loyalty.models import Card
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
THAI = {
    "name": "บัตรสะสมแต้มกาแฟ",
    "reward_title": "ลาเต้ฟรีหนึ่งแก้ว",
    "reward_description": "ขนาดใดก็ได้ นมชนิดใดก็ได้",
    "terms": "หนึ่งแต้มต่อการมาหนึ่งครั้ง ใช้ได้ที่ร้านนี้เท่านั้น",
}


@pytest.fixture
def program(db):
    business = factories.BusinessFactory(name="Baan Kafe", slug="baan-kafe", country="TH")
    program = factories.ProgramFactory(
        business=business,
        name="Coffee card",
        stamps_goal=8,
        reward_title="Free latte",
        terms="One stamp per visit.",
        background_color="#7c2d12",
        foreground_color="#fff7ed",
        label_color="#fed7aa",
        translations={"th": THAI},
    )
    factories.MilestoneFactory(program=program, stamps=4, reward_title="Milestone treat")
    return program


def test_a_thai_customer_reads_the_thai_texts_on_a_phone(browser, live_server, program, shots):
    context = browser.new_context(viewport=PHONE, locale="th-TH", device_scale_factor=2)
    page = context.new_page()
    page.goto(live_server.url + links.join_path(program, "table_tent"))
    page.locator("h1", has_text=THAI["name"]).wait_for()
    assert THAI["reward_title"] in page.locator(".c-lead").inner_text()
    page.screenshot(path=shots / "program-texts-join-th.png", full_page=True)

    with scopes_disabled():
        customer = factories.CustomerFactory(business=program.business, language="th")
        card = factories.CardFactory(program=program, customer=customer)
        Card.objects.filter(pk=card.pk).update(stamps=5)
    page.goto(live_server.url + reverse("customer:card", kwargs={"card_token": card.token}))
    page.locator("#card-title", has_text=THAI["name"]).wait_for()
    assert page.locator(".c-progress").inner_text().endswith(THAI["reward_title"])
    assert page.locator(".c-goal").get_attribute("title") == THAI["reward_title"]
    page.locator(".c-terms summary").click()
    assert THAI["terms"] in page.locator(".c-terms").inner_text()
    page.screenshot(path=shots / "program-texts-card-th.png", full_page=True)
    assert "Coffee card" not in page.content()
    context.close()
