"""The web card at its secret URL: stamps, rewards, vouchers, codes, wallets, PWA files."""

import io
import json
import re

import pytest
import resvg_py
import zxingcpp
from django.urls import reverse
from PIL import Image

from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.vouchers.models import VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from tests import factories
from tests.wallet.google_standin import Signer, configured

pytestmark = pytest.mark.django_db


def card_url(card, name="customer:card", **extra):
    return reverse(name, kwargs={"card_token": card.token, **extra})


def stamp(card, times):
    actor = factories.member_actor(card.business, role="staff")
    for _ in range(times):
        add_stamps(business=card.business, actor=actor, source=StampSource.STAFF, card_id=card.pk)


def test_the_card_shows_its_stamps_progress_and_code(client, card):
    factories.MilestoneFactory(program=card.program, stamps=5, reward_title="Free cookie")
    stamp(card, 3)
    page = client.get(card_url(card)).content.decode()
    assert "3 / 10" in page
    assert page.count('class="c-stamp c-filled') == 3
    assert "2 more stamps to Free cookie" in page
    assert card.display_code in page
    assert card.token not in page.replace(card_url(card), "")  # only in its own links
    assert 'title="Free cookie"' in page


def test_rewards_ready_and_vouchers_with_their_codes(client, card):
    factories.MilestoneFactory(program=card.program, stamps=2, reward_title="Free cookie")
    stamp(card, 2)
    manager = factories.member_actor(card.business, role="manager")
    for display, code in (("qr", "QR-CODE-1"), ("code128", "BAR12345"), ("text", "TEXT777")):
        issue_voucher(
            business=card.business,
            actor=manager,
            card=card,
            title=f"Voucher {display}",
            origin=VoucherOrigin.MANUAL,
            redemption_method="redeem_code",
            code=code,
            code_display=display,
        )
    page = client.get(card_url(card)).content.decode()
    assert "Ready for you" in page
    assert "Free cookie" in page
    for code in ("QR-CODE-1", "BAR12345", "TEXT777"):
        assert code in page
    # The card's QR and the two voucher images are inline SVG; the text code has none.
    assert page.count("<svg") == 3


def decode_inline_svgs(page):
    found = []
    for chunk in page.split("<svg")[1:]:
        svg = "<svg" + chunk[: chunk.index("</svg>") + len("</svg>")]
        png = resvg_py.svg_to_bytes(svg_string=svg, background="#ffffff")
        image = Image.open(io.BytesIO(bytes(png))).convert("L")
        found += [(r.text, r.format.name) for r in zxingcpp.read_barcodes(image)]
    return found


def test_every_code_on_the_card_reads_back(client, card):
    manager = factories.member_actor(card.business, role="manager")
    for display, code in (("qr", "QR-CODE-1"), ("code128", "BAR12345")):
        issue_voucher(
            business=card.business,
            actor=manager,
            card=card,
            title=display,
            origin=VoucherOrigin.MANUAL,
            redemption_method="redeem_code",
            code=code,
            code_display=display,
        )
    page = client.get(card_url(card)).content.decode()
    assert sorted(decode_inline_svgs(page)) == sorted(
        [(card.code, "QRCode"), ("QR-CODE-1", "QRCode"), ("BAR12345", "Code128")]
    )


def test_spent_and_other_cards_vouchers_are_not_shown(client, card):
    manager = factories.member_actor(card.business, role="manager")
    other = factories.CardFactory(program=card.program)
    issue_voucher(
        business=card.business,
        actor=manager,
        card=other,
        title="Not yours",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
    )
    assert "Not yours" not in client.get(card_url(card)).content.decode()


def test_wallet_buttons(client, card):
    page = client.get(card_url(card)).content.decode()
    assert f'href="/c/{card.token}/pass.pkpass"' in page
    assert "Google Wallet is not set up for this business yet." in page


def test_each_voucher_links_its_own_apple_wallet_pass(client, card, settings):
    manager = factories.member_actor(card.business, role="manager")
    voucher = issue_voucher(
        business=card.business,
        actor=manager,
        card=card,
        title="Free coffee",
        origin=VoucherOrigin.MANUAL,
        redemption_method="self",
    )
    pass_url = reverse("wallet:apple_voucher_pass", kwargs={"voucher_token": voucher.token})
    for page_url in (card_url(card), card_url(card, "customer:voucher", voucher_id=voucher.pk)):
        assert f'href="{pass_url}"' in client.get(page_url).content.decode()
    download = client.get(pass_url)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.apple.pkpass"

    # A box that cannot sign Apple passes offers none and says so.
    settings.LOCAL_BOX = False
    settings.APPLE_PASS_CERT = settings.APPLE_PASS_KEY = settings.APPLE_WWDR_CERT = ""
    page = client.get(card_url(card)).content.decode()
    assert "pass.pkpass" not in page
    assert "Apple Wallet is not set up for this business yet." in page
    voucher_page = client.get(card_url(card, "customer:voucher", voucher_id=voucher.pk))
    assert "pass.pkpass" not in voucher_page.content.decode()


def test_with_google_wallet_set_up_the_card_offers_its_save_link(client, card, settings, tmp_path):
    standin = configured(settings, tmp_path, Signer())
    next(standin)
    try:
        page = client.get(card_url(card)).content.decode()
        # Our redirect, which writes the object first (tests/wallet/test_google.py).
        assert f'href="/c/{card.token}/google"' in page
        assert "Google Wallet is not set up" not in page
    finally:
        standin.close()


def test_the_card_code_or_a_wrong_token_is_not_a_card_address(client, card):
    assert client.get(f"/c/{card.code}/").status_code == 404
    assert client.get(f"/c/{card.token[:-1]}x/").status_code == 404
    assert client.get(f"/c/{'a' * 5000}/").status_code == 404


def test_the_page_is_the_customers_alone(client, card):
    response = client.get(card_url(card))
    assert response["Cache-Control"] == "private, no-cache"
    # Links out of the card (wallets) carry no referrer, so never its secret address.
    assert response["Referrer-Policy"] == "same-origin"
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_manifest_icons_theme_and_worker(client, card):
    card.program.background_color = "#123456"
    card.program.save()
    manifest = json.loads(client.get(card_url(card, "customer:manifest")).content)
    assert manifest["start_url"] == card_url(card)
    assert manifest["scope"] == card_url(card)
    assert manifest["theme_color"] == "#123456"
    for icon in manifest["icons"]:
        png = client.get(icon["src"])
        assert png["Content-Type"] == "image/png"
        size = Image.open(io.BytesIO(png.content)).size
        assert f"{size[0]}x{size[1]}" == icon["sizes"]
    assert client.get(card_url(card, "customer:icon", size=4096)).status_code == 404
    css = client.get(card_url(card, "customer:theme")).content.decode()
    assert "--card-bg:#123456" in css
    worker = client.get(card_url(card, "customer:service_worker"))
    assert worker["Content-Type"].startswith("text/javascript")
    assert f'"{card_url(card)}"' in worker.content.decode()


def test_a_colour_that_slipped_past_validation_never_reaches_the_css(client, card):
    type(card.program).objects.filter(pk=card.program_id).update(background_color="red;}a{")
    css = client.get(card_url(card, "customer:theme")).content.decode()
    assert "}a{" not in css
    assert "--card-bg:#1f2937" in css


def cycle_rewards(page):
    """The rows of the card's list of rewards: (label, title, reached)."""
    rows = re.findall(
        r'<li class="c-step( c-reached)?"><span class="c-step-at">([^<]*)</span>'
        r'<strong class="c-step-title">([^<]*)</strong>',
        page,
    )
    return [(label, title, bool(reached)) for reached, label, title in rows]


def test_the_card_lists_every_reward_and_those_this_cycle_reached(client, card):
    factories.MilestoneFactory(program=card.program, stamps=5, reward_title="Free muffin")
    factories.MilestoneFactory(program=card.program, stamps=2, reward_title="Free cookie")
    stamp(card, 3)
    page = client.get(card_url(card)).content.decode()
    assert "Rewards on this card" in page
    assert cycle_rewards(page) == [
        ("Reward at 2 stamps", "Free cookie", True),
        ("Reward at 5 stamps", "Free muffin", False),
        ("Reward at 10 stamps", card.program.reward_title, False),
    ]
    assert page.count("Reached</span>") == 1
    # The goal closes the cycle: the next one starts with nothing reached.
    stamp(card, 8)
    card.refresh_from_db()
    assert card.stamps == 1
    page = client.get(card_url(card)).content.decode()
    assert [reached for _label, _title, reached in cycle_rewards(page)] == [False] * 3


def test_the_list_of_rewards_speaks_the_pages_language(client, card):
    factories.MilestoneFactory(
        program=card.program,
        stamps=1,
        reward_title="Free cookie",
        translations={"th": {"reward_title": "คุกกี้ฟรี"}},
    )
    type(card.customer).objects.filter(pk=card.customer.pk).update(language="th")
    stamp(card, 1)
    page = client.get(card_url(card), HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert "รางวัลในบัตรนี้" in page
    rows = cycle_rewards(page)
    assert rows[0] == ("รางวัลเมื่อครบ 1 แสตมป์", "คุกกี้ฟรี", True)
    assert rows[1][0] == "รางวัลเมื่อครบ 10 แสตมป์"
    assert "ครบแล้ว" in page


def test_a_card_without_milestones_has_no_list_of_rewards(client, card):
    page = client.get(card_url(card)).content.decode()
    assert "Rewards on this card" not in page
    assert cycle_rewards(page) == []
