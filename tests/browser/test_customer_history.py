"""A long-time customer's profile in real Chromium: each history pages older and newer on its
own, at phone and desktop size (screenshots kept for people to look at)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from stampcard.loyalty.models import Reward, RewardStatus, StampEvent, StampSource
from stampcard.tenancy.actors import ActorKind
from stampcard.vouchers.models import Voucher
from tests import factories
from tests.browser.test_customers import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def regular(business, program, shop, owner):
    """120 stamps, 60 rewards and 55 vouchers: two pages of each."""
    with scopes_disabled():
        card = factories.CardFactory(
            program=program, customer__name="Old Regular", customer__email="old@example.org"
        )
        start = timezone.now() - timedelta(days=300)
        StampEvent.objects.bulk_create(
            StampEvent(
                business=business,
                card=card,
                kind="stamp",
                delta=1,
                source=StampSource.STAFF,
                actor_kind=ActorKind.STAFF,
                location=shop,
                balance_after=n % 10,
                created_at=start + timedelta(days=n // 3),
            )
            for n in range(120)
        )
        Reward.objects.bulk_create(
            Reward(
                business=business,
                card=card,
                kind="simple",
                status=RewardStatus.REDEEMED,
                cycle=n + 1,
                stamps_used=10,
                created_at=start + timedelta(days=n * 5),
            )
            for n in range(60)
        )
        Voucher.objects.bulk_create(
            Voucher(
                business=business,
                card=card,
                token=f"token-{n}",
                title=f"Birthday cake {n + 1}",
                redemption_method="self",
                valid_from=start,
                origin="manual",
            )
            for n in range(55)
        )
    return card


def no_sideways_scroll(page):
    """The page itself never scrolls sideways (a wide table scrolls inside its section)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_long_history_pages_older_and_newer(
    page, live_server, business, regular, shots, viewport
):
    page.set_viewport_size(viewport)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/b/{business.slug}/customers/{regular.customer_id}/")
    stamps = page.locator("#stamps table.rows tbody tr")
    # Folded on arrival, each summary with its count.
    for section, count in (("stamps", "120"), ("rewards", "60"), ("vouchers", "55")):
        expect(page.locator(f"#{section} > summary .count")).to_have_text(count)
        expect(page.locator(f"#{section}")).not_to_have_attribute("open", "")
    expect(stamps.first).to_be_hidden()
    page.screenshot(path=str(shots / f"profile-folded-{viewport['width']}.png"), full_page=True)
    # Opened from the keyboard: Tab to the summary, Enter.
    summary = page.locator("#stamps > summary")
    for _ in range(40):
        page.keyboard.press("Tab")
        if summary.evaluate("node => node === document.activeElement"):
            break
    expect(summary).to_be_focused()
    assert summary.evaluate("node => getComputedStyle(node).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(stamps).to_have_count(50)
    expect(stamps.first).to_be_visible()
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / f"profile-{viewport['width']}.png"), full_page=True)
    history = page.get_by_role("navigation", name="Stamp history")
    expect(history.get_by_role("link", name="Newer")).to_have_count(0)
    history.get_by_role("link", name="Older").click()
    # The next page comes back with this section open and the others folded.
    expect(page.locator("#stamps")).to_have_attribute("open", "")
    expect(page.locator("#rewards")).not_to_have_attribute("open", "")
    expect(stamps).to_have_count(50)
    expect(stamps.first).to_be_in_viewport()
    # The rewards stay on their first page meanwhile, and page on their own.
    page.locator("#rewards > summary").click()
    rewards = page.get_by_role("navigation", name="Rewards")
    expect(rewards.get_by_role("link", name="Newer")).to_have_count(0)
    history.get_by_role("link", name="Older").click()
    expect(stamps).to_have_count(20)
    expect(history.get_by_role("link", name="Older")).to_have_count(0)
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / f"profile-oldest-{viewport['width']}.png"), full_page=True)
    history.get_by_role("link", name="Newer").click()
    history.get_by_role("link", name="Newer").click()
    expect(stamps).to_have_count(50)
    expect(history.get_by_role("link", name="Newer")).to_have_count(0)
    page.locator("#vouchers > summary").click()
    page.get_by_role("navigation", name="Vouchers").get_by_role("link", name="Older").click()
    expect(page.locator("#vouchers")).to_have_attribute("open", "")
    expect(page.get_by_role("link", name="Birthday cake 1", exact=True)).to_be_visible()
    expect(page.locator("#vouchers ul li")).to_have_count(5)
