"""Security headers: CSP without inline code, Permissions-Policy, no-store for private pages."""

import re
from pathlib import Path

from django.conf import settings

from stampcard.vouchers.code_images import code_svg
from stampcard.vouchers.models import CodeDisplay
from tests import factories

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def csp(response):
    return dict(
        part.strip().split(" ", 1)
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    )


def test_every_page_has_a_policy_without_inline_code(client, owner, program):
    client.force_login(owner)
    for url in ["/accounts/login/", "/b/corner-cafe/", f"/b/corner-cafe/programs/{program.pk}/"]:
        policy = csp(client.get(url))
        assert policy["default-src"] == "'self'"
        assert policy["script-src"] == "'self'", url
        assert policy["style-src"] == "'self'", url
        assert policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert "unsafe" not in str(policy)


def test_no_template_has_inline_script_or_style():
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        if re.search(r"\son[a-z]+\s*=", text) or re.search(r"\sstyle\s*=", text):
            offenders.append(template.name)
        if re.search(r"<script(?![^>]*\bsrc=)", text) or "<style" in text:
            offenders.append(template.name)
    assert offenders == []


def test_the_program_preview_draws_its_colours_without_style(client, owner, business):
    program = factories.ProgramFactory(
        business=business,
        background_color="#123456",
        foreground_color="#abcdef",
        label_color="#fedcba",
    )
    client.force_login(owner)
    body = client.get(f"/b/corner-cafe/programs/{program.pk}/").content.decode()
    assert 'fill="#123456"' in body
    assert 'fill="#abcdef"' in body
    assert 'fill="#fedcba"' in body
    assert "style=" not in body


def test_permissions_policy_allows_only_our_own_camera(client, db):
    header = client.get("/accounts/login/")["Permissions-Policy"]
    features = dict(part.strip().split("=", 1) for part in header.split(","))
    assert features["camera"] == "(self)"
    for feature in ["geolocation", "microphone", "payment"]:
        assert features[feature] == "()"


def test_signed_in_pages_are_not_stored(client, owner):
    client.force_login(owner)
    for url in ["/b/corner-cafe/", "/accounts/password/change/", "/"]:
        response = client.get(url, follow=False)
        assert "no-store" in response["Cache-Control"], url


def test_the_admin_and_account_pages_are_not_stored_even_signed_out(client, db):
    for url in ["/accounts/login/", "/accounts/password/reset/", "/admin/login/"]:
        assert "no-store" in client.get(url)["Cache-Control"], url


def test_a_public_page_for_a_visitor_may_be_cached(client, db):
    assert "no-store" not in client.get("/healthz").get("Cache-Control", "")


def test_inline_voucher_codes_carry_no_style_attribute():
    for display in [CodeDisplay.QR, CodeDisplay.CODE128]:
        assert "style=" not in code_svg("FREECOFFEE", display), display
