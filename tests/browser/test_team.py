"""An owner invites a new person by e-mail, in real Chromium with a real SMTP server; the person
joins from the mail's link, works with staff rights only, is limited to one shop, then removed."""

import re

import pytest
from django_scopes import scopes_disabled

from stampcard.tenancy.models import Membership
from tests import factories
from tests.mail_server import deliver_mail, smtp_inbox

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def log_in(page, base, username, password):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def both_sizes(page, path):
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(path).format(size=name), full_page=True)


def test_owner_invites_a_new_person_who_joins_works_and_is_removed(
    browser, live_server, settings, owner, shop, other_shop, shots
):
    settings.PUBLIC_BASE_URL = live_server.url
    base = live_server.url
    owners = browser.new_context(viewport=DESKTOP, locale="en-US")
    alice = owners.new_page()
    errors: list[str] = []
    alice.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(alice, base, "owner", "pw-owner-1234")
    alice.get_by_role("heading", name="Corner Cafe").wait_for()
    alice.get_by_role("link", name="Team").click()
    alice.get_by_role("heading", name="Team", exact=True).wait_for()

    with smtp_inbox() as inbox:
        alice.get_by_label("E-mail").fill("nok@example.org")
        alice.get_by_label("Role").select_option("staff")
        alice.get_by_role("button", name="Send invitation").click()
        alice.get_by_text("Invitation sent to nok@example.org.").wait_for()
        assert deliver_mail() == 1
    assert len(inbox.messages) == 1
    text = next(p for p in inbox.messages[0].walk() if p.get_content_type() == "text/plain")
    payload = text.get_payload(decode=True)
    assert isinstance(payload, bytes)
    found = re.search(re.escape(base) + r"/invite/[A-Za-z0-9_-]+/", payload.decode())
    assert found is not None
    link = found.group(0)
    both_sizes(alice, shots / "team-{size}-en.png")

    # The Thai-speaking reader of the mail sees the accept page in Thai first.
    thai = browser.new_context(viewport=PHONE, locale="th-TH")
    thai_page = thai.new_page()
    thai_page.goto(link)
    thai_page.get_by_role("heading", name="เข้าร่วม Corner Cafe").wait_for()
    both_sizes(thai_page, shots / "accept-{size}-th.png")
    thai.close()

    # The new person, in a browser of their own, follows the link and makes an account.
    theirs = browser.new_context(viewport=PHONE, locale="en-US")
    nok = theirs.new_page()
    nok.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    nok.goto(link)
    nok.get_by_role("heading", name="Join Corner Cafe").wait_for()
    both_sizes(nok, shots / "accept-{size}-en.png")
    nok.set_viewport_size(PHONE)
    nok.get_by_label("Your name").fill("Nok Lamai")
    nok.get_by_label("Password").fill("kaffee-und-kuchen-42")
    nok.get_by_role("button", name="Create account and join").click()
    nok.get_by_text("Welcome to Corner Cafe.").wait_for()
    nok.get_by_role("heading", name="Corner Cafe").wait_for()
    # Staff rights only: none of the managers' or owners' sections.
    sections = nok.get_by_role("navigation", name="Sections")
    assert sections.get_by_role("link", name="Scanner").is_visible()
    for hidden in ("Team", "Devices", "Analytics", "Shops", "Audit trail"):
        assert sections.get_by_role("link", name=hidden).count() == 0
    refused = nok.goto(f"{base}/b/corner-cafe/team/")
    assert refused is not None
    assert refused.status == 403
    with scopes_disabled():
        membership = Membership.objects.get(user__username="nok@example.org")
    assert membership.role == "staff"

    # The owner limits them to one shop.
    alice.reload()
    alice.get_by_role("link", name="Change or remove Nok Lamai").click()
    alice.get_by_role("heading", name="Nok Lamai").wait_for()
    alice.get_by_label("Riverside").check()
    both_sizes(alice, shots / "member-{size}-en.png")
    alice.get_by_role("button", name="Save").click()
    alice.get_by_text("Nok Lamai saved.").wait_for()
    with scopes_disabled():
        assert [loc.name for loc in membership.locations.all()] == ["Riverside"]
    shown = nok.goto(f"{base}/b/corner-cafe/")
    assert shown is not None
    assert shown.status == 200

    # ... then removes them: their very next page load is refused.
    alice.get_by_role("link", name="Change or remove Nok Lamai").click()
    alice.get_by_role("button", name="Remove Nok Lamai").click()
    alice.get_by_text("Nok Lamai was removed from the team.").wait_for()
    gone = nok.goto(f"{base}/b/corner-cafe/")
    assert gone is not None
    assert gone.status == 404
    # The link from the mail worked once.
    used = nok.goto(link)
    assert used is not None
    assert used.status == 410
    both_sizes(nok, shots / "invitation-used-{size}-en.png")

    # The team page in Thai.
    alice.get_by_label("Language").select_option("th")
    alice.get_by_role("heading", name="ทีม", exact=True).wait_for()
    both_sizes(alice, shots / "team-{size}-th.png")
    alice.goto(f"{base}/b/corner-cafe/team/")
    alice.get_by_role("link", name="คุณ").first.click()
    both_sizes(alice, shots / "member-self-{size}-th.png")
    # Only the refusals this test asked for (403, 404, 410) and the favicon may fail to load.
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
    theirs.close()
    owners.close()


@pytest.mark.parametrize("language", ["en", "th"])
def test_an_owner_limited_to_a_shop_sees_her_part_of_the_team(
    browser, live_server, django_user_model, business, owner, bob, shop, other_shop, shots, language
):
    with scopes_disabled():
        dao = django_user_model.objects.create_user(
            "dao@example.org", email="dao@example.org", password="pw-dao-12345", first_name="Dao"
        )
        factories.MembershipFactory(business=business, user=dao, role="owner", locations=[shop])
        eve = django_user_model.objects.create_user("eve@example.org", first_name="Eve Oldtown")
        factories.MembershipFactory(
            business=business, user=eve, role="staff", locations=[other_shop]
        )
    context = browser.new_context(viewport=DESKTOP, locale="th-TH" if language == "th" else "en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username]").fill("dao@example.org")
    page.locator("input[name=password]").fill("pw-dao-12345")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/b/{business.slug}/")
    page.goto(f"{live_server.url}/b/{business.slug}/team/")
    items = page.locator("ul.team-list > li")
    assert items.count() == 3  # Dao herself, Alice (every shop) by name, Bob (Riverside)
    body = page.locator("main").inner_text()
    assert "Eve Oldtown" not in body
    assert "Old Town" not in body
    both_sizes(page, shots / f"team-limited-{{size}}-{language}.png")
    assert [e for e in errors if "Failed to load resource" not in e] == []
    context.close()
