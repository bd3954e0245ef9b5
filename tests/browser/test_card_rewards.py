"""The web card's list of every reward of the cycle, in real Chromium at phone and desktop
size, in English and Thai: the milestones this cycle reached are marked, nothing overflows.

Screenshots are kept (``STAMPCARD_SCREENSHOTS`` names a folder to keep them in, else the test's
temporary folder) for people to look at.
"""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from stampcard.loyalty.models import Card
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
COOKIE_TH = "คุกกี้ช็อกโกแลตชิปอบใหม่ฟรีหนึ่งชิ้น"
LABELS = {
    "en": ("Rewards on this card", "Reward at 3 stamps", "Reward at 10 stamps", "Reached"),
    "th": ("รางวัลในบัตรนี้", "รางวัลเมื่อครบ 3 แสตมป์", "รางวัลเมื่อครบ 10 แสตมป์", "ครบแล้ว"),
}


@pytest.fixture
def program(db):
    business = factories.BusinessFactory(name="Baan Kafe", slug="baan-kafe", country="TH")
    program = factories.ProgramFactory(
        business=business,
        name="Coffee card",
        stamps_goal=10,
        reward_title="Free latte",
        background_color="#7c2d12",
        foreground_color="#fff7ed",
        label_color="#fed7aa",
        translations={"th": {"reward_title": "ลาเต้ฟรีหนึ่งแก้ว"}},
    )
    factories.MilestoneFactory(
        program=program,
        stamps=3,
        reward_title="A freshly baked chocolate chip cookie",
        translations={"th": {"reward_title": COOKIE_TH}},
    )
    factories.MilestoneFactory(program=program, stamps=6, reward_title="Free pastry of the day")
    return program


@pytest.mark.parametrize("language", ["en", "th"])
def test_the_card_lists_its_rewards_and_marks_those_reached(
    browser, live_server, program, shots, language
):
    with scopes_disabled():
        customer = factories.CustomerFactory(business=program.business, language=language)
        card = factories.CardFactory(program=program, customer=customer)
        Card.objects.filter(pk=card.pk).update(stamps=4)
    heading, first, goal, reached = LABELS[language]
    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=size, locale=language, device_scale_factor=2)
        page = context.new_page()
        page.goto(live_server.url + reverse("customer:card", kwargs={"card_token": card.token}))
        section = page.locator("section", has=page.locator("h2", has_text=heading))
        section.wait_for()
        steps = section.locator(".c-step")
        assert steps.count() == 3
        assert steps.nth(0).locator(".c-step-at").inner_text() == first
        assert steps.nth(2).locator(".c-step-at").inner_text() == goal
        if language == "th":
            assert steps.nth(0).locator(".c-step-title").inner_text() == COOKIE_TH
        # Only the milestone at 3 is behind a card at 4.
        assert section.locator(".c-reached").count() == 1
        assert steps.nth(0).locator(".c-step-done").inner_text().endswith(reached)
        assert steps.nth(1).locator(".c-step-done").count() == 0
        # The mark sits inside its row, and the page does not scroll sideways.
        row, mark = steps.nth(0).bounding_box(), steps.nth(0).locator(".c-step-done").bounding_box()
        assert row is not None
        assert mark is not None
        assert mark["x"] + mark["width"] <= row["x"] + row["width"] + 0.5
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        section.scroll_into_view_if_needed()
        page.screenshot(path=shots / f"card-rewards-{language}-{size_name}.png", full_page=True)
        context.close()
