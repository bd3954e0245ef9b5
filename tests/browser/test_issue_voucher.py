"""Issue Voucher in real Chromium: every image format, a pasted picture, each validity, with
and without a customer, and the pages at phone and desktop size in English and Thai."""

import base64
import io
from datetime import timedelta

import pillow_heif
import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from PIL import Image
from playwright.sync_api import expect

from stampcard.vouchers.models import Voucher

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="150">'
    b'<rect width="300" height="150" rx="20" fill="#f59e0b"/>'
    b'<circle cx="75" cy="75" r="50" fill="#7c2d12"/></svg>'
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def picture(kind: str) -> tuple[str, bytes, str]:
    """A real file of each kind, made here: Pillow writes AVIF, pillow-heif HEIC/HEIF."""
    if kind == "svg":
        return "logo.svg", SVG, "image/svg+xml"
    image = Image.new("RGB", (320, 160), (37, 99, 235))
    image.paste((250, 204, 21), (40, 40, 140, 120))
    out = io.BytesIO()
    if kind in ("heic", "heif"):
        pillow_heif.from_pillow(image).save(out, format="HEIF", quality=85)
        return f"gift.{kind}", out.getvalue(), f"image/{kind}"
    fmt = {"jpg": "JPEG", "jpeg": "JPEG"}.get(kind, kind.upper())
    image.save(out, format=fmt)
    return f"gift.{kind}", out.getvalue(), f"image/{'jpeg' if fmt == 'JPEG' else kind}"


def log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("owner")
    page.get_by_label("Password").fill("pw-owner-1234")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/b/**")


def open_issue(page, live_server, business):
    page.goto(f"{live_server.url}/b/{business.slug}/vouchers/issue/")
    expect(page.get_by_role("heading", name="Issue Voucher", exact=True)).to_be_visible()


def last_voucher() -> Voucher | None:
    with scopes_disabled():
        return Voucher.objects.select_related("card").order_by("-pk").first()


def shown_image_size(page) -> tuple[int, int]:
    image = page.locator("img.voucher-image")
    expect(image).to_be_visible()
    image.evaluate("i => i.decode()")
    return image.evaluate("i => [i.naturalWidth, i.naturalHeight]")


@pytest.mark.parametrize("kind", ["png", "jpg", "jpeg", "webp", "svg", "heic", "heif", "avif"])
def test_each_image_format_becomes_the_vouchers_picture(page, live_server, owner, business, kind):
    log_in(page, live_server)
    open_issue(page, live_server, business)
    name, data, mime = picture(kind)
    page.get_by_label("Voucher Title").fill(f"Gift in {kind}")
    page.get_by_label("Image (optional)").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}]
    )
    page.get_by_role("button", name="GENERATE VOUCHER").click()
    expect(page.get_by_role("heading", name=f"Gift in {kind}")).to_be_visible()
    width, height = shown_image_size(page)
    # Drawn again with its proportions (an SVG fitted to the box, to a pixel).
    assert abs(width - 2 * height) <= 1
    assert last_voucher().image.name.endswith((".jpg", ".png"))


def test_a_picture_pasted_from_the_clipboard(page, live_server, owner, business):
    log_in(page, live_server)
    open_issue(page, live_server, business)
    _name, data, _mime = picture("png")
    page.get_by_label("Voucher Title").fill("Pasted gift")
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "image.png", { type: "image/png" }));
            document.body.dispatchEvent(new ClipboardEvent(
                "paste", { clipboardData: transfer, bubbles: true, cancelable: true }
            ));
        }""",
        base64.b64encode(data).decode(),
    )
    expect(page.locator("#image-preview")).to_be_visible()
    expect(page.locator("#paste-status")).to_have_text("Picture pasted from the clipboard.")
    assert page.locator('input[name="image"]').evaluate("i => i.files.length") == 1
    page.get_by_role("button", name="GENERATE VOUCHER").click()
    expect(page.get_by_role("heading", name="Pasted gift")).to_be_visible()
    assert shown_image_size(page) == [320, 160]


def test_a_hostile_svg_is_refused_with_a_clear_message(page, live_server, owner, business):
    log_in(page, live_server)
    open_issue(page, live_server, business)
    hostile = SVG.replace(b"</svg>", b'<image href="file:///etc/passwd"/></svg>')
    page.get_by_label("Voucher Title").fill("Trojan")
    page.get_by_label("Image (optional)").set_input_files(
        files=[{"name": "cute.png", "mimeType": "image/png", "buffer": hostile}]
    )
    page.get_by_role("button", name="GENERATE VOUCHER").click()
    expect(page.get_by_role("alert")).to_contain_text("outside itself")
    assert last_voucher() is None


@pytest.mark.parametrize("validity", ["unlimited", "days", "months", "fixed_date"])
def test_each_validity_mode_without_a_customer(page, live_server, owner, business, validity):
    log_in(page, live_server)
    open_issue(page, live_server, business)
    page.get_by_label("Voucher Title").fill("Coupon")
    page.locator(f'input[name="validity"][value="{validity}"]').check()
    for part in ("days", "months", "fixed_date"):
        visible = page.locator(f'[data-validity="{part}"]')
        (expect(visible).to_be_visible if part == validity else expect(visible).to_be_hidden)()
    until = (timezone.now() + timedelta(days=20)).date()
    if validity == "days":
        page.get_by_label("Number of days").fill("7")
    elif validity == "months":
        page.get_by_label("Number of months").fill("3")
    elif validity == "fixed_date":
        page.get_by_label("Valid until").fill(until.isoformat())
    page.get_by_role("button", name="GENERATE VOUCHER").click()
    expect(page.get_by_role("heading", name="Coupon")).to_be_visible()
    voucher = last_voucher()
    assert voucher.card is None
    expect(page.get_by_text(voucher.code, exact=True)).to_be_visible()
    expected_days = {"unlimited": None, "days": 7, "months": (89, 93), "fixed_date": (19, 21)}
    wanted = expected_days[validity]
    if wanted is None:
        assert voucher.valid_until is None
    elif isinstance(wanted, int):
        assert (voucher.valid_until - voucher.valid_from).days == wanted
    else:
        assert wanted[0] <= (voucher.valid_until - voucher.valid_from).days <= wanted[1]
    link = page.get_by_role("link", name="Download to print (PDF)").get_attribute("href")
    pdf = page.request.get(f"{live_server.url}{link}")
    assert pdf.ok
    assert pdf.body().startswith(b"%PDF")


def test_search_a_customer_and_issue_to_their_card(page, live_server, owner, business, card):
    log_in(page, live_server)
    open_issue(page, live_server, business)
    page.get_by_label("Search a customer card").fill(card.customer.name)
    choice = page.get_by_role("radio", name=card.display_code)
    expect(choice).to_be_visible()
    choice.check()
    page.get_by_label("Voucher Title").fill("Sorry for the cold coffee")
    page.get_by_label("Description (optional)").fill("Service-failure compensation")
    page.get_by_role("button", name="GENERATE VOUCHER").click()
    expect(page.get_by_role("heading", name="Sorry for the cold coffee")).to_be_visible()
    voucher = last_voucher()
    assert voucher.card_id == card.pk
    assert voucher.code == ""


def test_a_search_that_finds_nobody_says_so(page, live_server, owner, business, card):
    log_in(page, live_server)
    open_issue(page, live_server, business)
    page.get_by_label("Search a customer card").fill("Nobody by this name")
    expect(page.get_by_role("status").filter(has_text="No customer matches")).to_be_visible()


@pytest.mark.parametrize("language", ["en", "th"])
def test_screenshots(browser, live_server, owner, business, card, shots, language):
    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=size, locale="en-US")
        page = context.new_page()
        log_in(page, live_server)
        context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/b/{business.slug}/vouchers/issue/?card={card.pk}")
        page.screenshot(path=shots / f"issue-{language}-{size_name}.png", full_page=True)
        page.locator('input[name="title"]').fill("Birthday cake")
        page.locator('input[name="with_code"]').check()
        page.locator('input[name="validity"][value="days"]').check()
        page.locator('input[name="days"]').fill("30")
        _n, data, mime = picture("png")
        page.locator('input[name="image"]').set_input_files(
            files=[{"name": "cake.png", "mimeType": mime, "buffer": data}]
        )
        page.locator("button.primary").click()
        page.wait_for_url("**/vouchers/*/")
        assert last_voucher().card_id == card.pk  # chosen on the customer's page (?card=)
        page.screenshot(path=shots / f"voucher-{language}-{size_name}.png", full_page=True)
        page.goto(f"{live_server.url}/b/{business.slug}/vouchers/")
        page.screenshot(path=shots / f"vouchers-{language}-{size_name}.png", full_page=True)
        # Nothing is wider than the screen: no sideways scrolling on a phone.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"]
        context.close()
