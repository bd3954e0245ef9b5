"""In Chromium: password, then the authenticator code, then the business; no CSP complaint."""

import pytest
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories
from tests.accounts.conftest import PASSWORD, current_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("name", "viewport"), [("phone", (390, 844)), ("desktop", (1100, 900))])
def test_an_owner_logs_in_with_a_code(browser, live_server, business, name, viewport, tmp_path):
    username = f"owner-{name}"
    account = get_user_model().objects.create_user(username, password=PASSWORD)
    factories.MembershipFactory(business=business, user=account, role="owner")
    device = TOTPDevice.objects.create(user=account, name="phone", confirmed=True)
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("heading", name="Two-step login").wait_for()
    page.screenshot(path=tmp_path / f"verify-{name}.png", full_page=True)
    page.get_by_label("Code").fill(current_code(device))
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("heading", name="Corner Cafe").wait_for()
    page.screenshot(path=tmp_path / f"business-{name}.png", full_page=True)
    page.get_by_label("Language").select_option("ru")  # the ES module sends the form
    page.get_by_role("link", name="Двухэтапный вход").wait_for()
    assert violations == []
    context.close()
