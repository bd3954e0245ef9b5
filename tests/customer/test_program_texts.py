"""The customer's pages show the program's texts in the customer's language, else the default's."""

import json

import pytest
from django.urls import reverse

from stampcard.loyalty.models import Card
from stampcard.loyalty.services import add_stamps
from stampcard.vouchers.models import RedemptionMethod, VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from tests import factories

pytestmark = pytest.mark.django_db

THAI = {
    "name": "บัตรสะสมแต้มกาแฟ",
    "reward_title": "กาแฟฟรีหนึ่งแก้ว",
    "reward_description": "ขนาดใดก็ได้",
    "terms": "หนึ่งแต้มต่อการมาหนึ่งครั้ง",
}


@pytest.fixture
def program(business):
    # Kazakh has only a name: its other texts fall back to the default language's.
    return factories.ProgramFactory(
        business=business,
        name="Coffee card",
        reward_title="Free coffee",
        reward_description="Any size",
        terms="One stamp per visit",
        translations={"th": THAI, "kk": {"name": "Кофе картасы"}},
    )


def card_of(program, language):
    customer = factories.CustomerFactory(business=program.business, language=language)
    return factories.CardFactory(program=program, customer=customer)


def join_url(program):
    return reverse(
        "customer:join", kwargs={"slug": program.business.slug, "program_id": program.pk}
    )


def test_the_join_page_speaks_the_visitors_language(client, program):
    page = client.get(join_url(program), HTTP_ACCEPT_LANGUAGE="th").content.decode()
    for text in (THAI["name"], THAI["reward_title"], THAI["terms"]):
        assert text in page
    assert "Coffee card" not in page
    assert "Free coffee" not in page


def test_the_join_page_in_the_default_language_shows_the_default_texts(client, program):
    page = client.get(join_url(program), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in ("Coffee card", "Free coffee", "One stamp per visit"):
        assert text in page
    assert THAI["name"] not in page


def test_a_customer_who_joins_in_thai_gets_a_card_in_thai(client, program):
    client.post(join_url(program), {}, HTTP_ACCEPT_LANGUAGE="th")
    card = Card.objects.get(program=program)
    assert card.customer.language == "th"
    page = client.get(reverse("customer:card", kwargs={"card_token": card.token}))
    assert THAI["name"] in page.content.decode()


def test_the_web_card_speaks_the_customers_language_whatever_the_browsers(client, program):
    card = card_of(program, "th")
    page = client.get(
        reverse("customer:card", kwargs={"card_token": card.token}), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert f"<title>{THAI['name']} ·" in page
    assert f'<h1 id="card-title">{THAI["name"]}</h1>' in page
    # The progress sentence names the reward, and the goal's stamp carries it.
    assert f"10 more stamps to {THAI['reward_title']}" in page
    assert f'title="{THAI["reward_title"]}"' in page
    assert THAI["terms"] in page
    assert "Coffee card" not in page
    assert "Free coffee" not in page


def test_an_english_customer_gets_the_default_texts(client, program):
    card = card_of(program, "en")
    page = client.get(reverse("customer:card", kwargs={"card_token": card.token}))
    text = page.content.decode()
    assert '<h1 id="card-title">Coffee card</h1>' in text
    assert "10 more stamps to Free coffee" in text
    assert THAI["name"] not in text


def test_a_language_without_a_text_falls_back_to_the_default(client, program):
    card = card_of(program, "kk")
    text = client.get(reverse("customer:card", kwargs={"card_token": card.token})).content
    page = text.decode()
    assert '<h1 id="card-title">Кофе картасы</h1>' in page
    assert 'title="Free coffee"' in page
    assert "One stamp per visit" in page


def test_a_reward_ready_is_named_in_the_customers_language(client, business, staff_actor):
    program = factories.ProgramFactory(
        business=business, stamps_goal=1, reward_title="Free coffee", translations={"th": THAI}
    )
    card = card_of(program, "th")
    add_stamps(business=business, actor=staff_actor, source="staff", card_id=card.pk)
    page = client.get(reverse("customer:card", kwargs={"card_token": card.token}))
    assert f"<strong>{THAI['reward_title']}</strong>" in page.content.decode()


def test_the_home_screen_name_is_the_customers(client, program):
    card = card_of(program, "th")
    manifest = client.get(reverse("customer:manifest", kwargs={"card_token": card.token}))
    assert json.loads(manifest.content)["short_name"] == THAI["name"]


def test_the_voucher_page_leads_back_to_the_card_by_its_name_in_the_customers_language(
    client, program, staff_actor
):
    card = card_of(program, "th")
    voucher = issue_voucher(
        business=program.business,
        actor=staff_actor,
        title="Cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method=RedemptionMethod.SELF_REDEEM,
        card=card,
        program=program,
    )
    url = reverse("customer:voucher", kwargs={"card_token": card.token, "voucher_id": voucher.pk})
    assert f"← {THAI['name']}</a>" in client.get(url).content.decode()


# --- milestones ------------------------------------------------------------------------

COOKIE_TH = "คุกกี้ฟรีหนึ่งชิ้น"


@pytest.fixture
def milestone(program):
    return factories.MilestoneFactory(
        program=program,
        stamps=3,
        reward_title="Free cookie",
        translations={"th": {"reward_title": COOKIE_TH}},
    )


def test_a_thai_customer_sees_the_thai_milestone_on_the_web_card(client, program, milestone):
    card = card_of(program, "th")
    page = client.get(
        reverse("customer:card", kwargs={"card_token": card.token}), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert f"3 more stamps to {COOKIE_TH}" in page
    assert f'c-milestone" title="{COOKIE_TH}"' in page
    assert "Free cookie" not in page


def test_the_milestone_falls_back_to_the_default_language(client, program, milestone):
    card = card_of(program, "kk")
    page = client.get(reverse("customer:card", kwargs={"card_token": card.token})).content.decode()
    assert "3 more stamps to Free cookie" in page
    assert 'c-milestone" title="Free cookie"' in page
    assert COOKIE_TH not in page


def test_a_milestone_ready_is_named_in_the_customers_language(
    client, program, milestone, staff_actor
):
    card = card_of(program, "th")
    for _ in range(3):
        add_stamps(business=program.business, actor=staff_actor, source="staff", card_id=card.pk)
    page = client.get(reverse("customer:card", kwargs={"card_token": card.token}))
    assert f"<strong>{COOKIE_TH}</strong>" in page.content.decode()


def test_the_join_page_names_the_milestones_in_the_visitors_language(client, program, milestone):
    thai = client.get(join_url(program), HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert COOKIE_TH in thai
    assert "Free cookie" not in thai
    english = client.get(join_url(program), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Free cookie at 3 stamps" in english
