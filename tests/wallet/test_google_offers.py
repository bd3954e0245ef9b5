"""Google Wallet offers: a Smart Voucher's own offer object (and its program's or business's
offer class), written by the outbox and by the save link, against the stand-in."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.urls import reverse

from stampcard.outbox.models import OutboxMessage, Topic
from stampcard.vouchers.models import (
    CodeDisplay,
    RedemptionMethod,
    Validity,
    Voucher,
    VoucherOrigin,
    VoucherStatus,
)
from stampcard.vouchers.services import ValidityRule, issue_voucher, void_voucher
from stampcard.wallet import google
from stampcard.wallet.google_consumers import sync_google_offer, sync_google_program
from tests.wallet.google_standin import ISSUER, Signer, configured

pytestmark = pytest.mark.django_db

CONSUMER = "stampcard.wallet.google_consumers.sync_google_offer"
SAVE = "https://pay.google.com/gp/v/save/"


@pytest.fixture
def signer():
    return Signer()


@pytest.fixture
def google_on(settings, tmp_path, signer):
    yield from configured(settings, tmp_path, signer)


def issue(business, actor, card=None, **kwargs):
    values = {
        "title": "Free coffee",
        "description": "Any size, any milk.",
        "origin": VoucherOrigin.MANUAL,
        "redemption_method": RedemptionMethod.REDEEM_CODE,
        "code": "FREECOFFEE7",
        "code_display": CodeDisplay.QR,
        "validity": ValidityRule(kind=Validity.DAYS, amount=30),
    }
    values.update(kwargs)
    return issue_voucher(business=business, actor=actor, card=card, **values)


def told(voucher, topic):
    """The outbox message of ``topic`` about ``voucher``, as the dispatcher hands it over."""
    return OutboxMessage.objects.filter(topic=topic, payload__voucher_id=voucher.pk).latest("pk")


def offer_object(standin, voucher):
    return standin.resources[("offerObject", f"{ISSUER}.voucher-{voucher.pk}")]


@pytest.fixture
def voucher(business, staff_actor, card):
    return issue(business, staff_actor, card=card, program=card.program)


def test_the_consumer_hears_every_voucher_topic():
    for topic in ("voucher.issued", "voucher.redeemed", "voucher.voided", "voucher.expired"):
        assert CONSUMER in django_settings.OUTBOX_CONSUMERS[topic]


def test_without_credentials_nothing_is_sent_and_there_is_no_save_link(voucher, client):
    sync_google_offer(told(voucher, Topic.VOUCHER_ISSUED))  # does nothing, calls nobody
    assert google.voucher_save_link(voucher) is None
    url = reverse(
        "wallet:google_card_voucher_save",
        kwargs={"card_token": voucher.card.token, "voucher_id": voucher.pk},
    )
    assert client.get(url).status_code == 404


def test_an_issued_voucher_inserts_its_programs_offer_class_and_its_object(google_on, voucher):
    program = voucher.program
    sync_google_offer(told(voucher, Topic.VOUCHER_ISSUED))
    class_path = f"/walletobjects/v1/offerClass/{ISSUER}.offer-program-{program.pk}"
    object_path = f"/walletobjects/v1/offerObject/{ISSUER}.voucher-{voucher.pk}"
    assert google_on.api_calls() == [
        ("PATCH", class_path),
        ("POST", "/walletobjects/v1/offerClass"),
        ("PATCH", object_path),
        ("POST", "/walletobjects/v1/offerObject"),
    ]
    offer_class = google_on.resources[("offerClass", f"{ISSUER}.offer-program-{program.pk}")]
    assert offer_class["title"] == program.name
    assert offer_class["issuerName"] == offer_class["provider"] == voucher.business.name
    assert offer_class["redemptionChannel"] == "INSTORE"
    assert offer_class["reviewStatus"] == "UNDER_REVIEW"
    assert offer_class["hexBackgroundColor"] == program.background_color
    body = offer_object(google_on, voucher)
    assert body["classId"] == f"{ISSUER}.offer-program-{program.pk}"
    assert body["state"] == "ACTIVE"
    assert body["barcode"] == {
        "type": "QR_CODE",
        "value": "FREECOFFEE7",
        "alternateText": "FREECOFFEE7",
    }
    end = datetime.fromisoformat(body["validTimeInterval"]["end"]["date"])
    assert end == voucher.valid_until
    assert {"id": "voucher", "header": "Voucher", "body": "Free coffee"} in body["textModulesData"]
    # A second delivery of the same message patches both, and inserts nothing.
    google_on.requests.clear()
    sync_google_offer(told(voucher, Topic.VOUCHER_ISSUED))
    assert [method for method, _path in google_on.api_calls()] == ["PATCH", "PATCH"]


def test_a_redeemed_voucher_is_completed(google_on, business, staff_actor, card):
    from stampcard.vouchers.services import redeem_voucher

    voucher = issue(
        business,
        staff_actor,
        card=card,
        program=card.program,
        code="",
        redemption_method=RedemptionMethod.STAFF_SCAN,
    )
    sync_google_offer(told(voucher, Topic.VOUCHER_ISSUED))
    # No redeem code: the token the staff scanner reads, never shown as text.
    assert offer_object(google_on, voucher)["barcode"] == {
        "type": "QR_CODE",
        "value": voucher.token,
    }
    redeem_voucher(business=business, actor=staff_actor, token=voucher.token)
    sync_google_offer(told(voucher, Topic.VOUCHER_REDEEMED))
    assert offer_object(google_on, voucher)["state"] == "COMPLETED"


def test_a_voided_voucher_is_inactive(google_on, business, staff_actor, voucher):
    sync_google_offer(told(voucher, Topic.VOUCHER_ISSUED))
    void_voucher(business=business, actor=staff_actor, voucher=voucher, reason="Issued twice")
    sync_google_offer(told(voucher, Topic.VOUCHER_VOIDED))
    assert offer_object(google_on, voucher)["state"] == "INACTIVE"


def test_an_expired_voucher_is_expired(google_on, business, voucher):
    sync_google_offer(told(voucher, Topic.VOUCHER_ISSUED))
    Voucher.objects.filter(pk=voucher.pk).update(status=VoucherStatus.EXPIRED)
    expired = OutboxMessage.objects.create(
        business=business,
        topic=Topic.VOUCHER_EXPIRED,
        payload={"voucher_id": voucher.pk, "card_id": voucher.card_id},
    )
    sync_google_offer(expired)
    assert offer_object(google_on, voucher)["state"] == "EXPIRED"


def test_a_voucher_past_its_validity_is_expired_before_the_job_marks_it(voucher):
    assert google.offer_state(voucher) == "ACTIVE"
    later = voucher.valid_until + timedelta(seconds=1)
    assert google.offer_state(voucher, now=later) == "EXPIRED"
    voucher.status = VoucherStatus.REDEEMED
    assert google.offer_state(voucher, now=later) == "COMPLETED"


def test_a_voucher_issued_by_hand_without_a_program_is_in_the_business_class(
    google_on, business, staff_actor
):
    voucher = issue(business, staff_actor, code_display=CodeDisplay.CODE128)
    assert voucher.program is None
    sync_google_offer(told(voucher, Topic.VOUCHER_ISSUED))
    offer_class = google_on.resources[("offerClass", f"{ISSUER}.offer-business-{business.pk}")]
    assert offer_class["title"] == business.name
    assert offer_class["hexBackgroundColor"] == business.brand_color
    body = offer_object(google_on, voucher)
    assert body["classId"] == f"{ISSUER}.offer-business-{business.pk}"
    assert body["barcode"]["type"] == "CODE_128"


def test_the_save_link_verifies_with_the_matching_key_and_names_the_offer_object(
    google_on, voucher
):
    link = google.voucher_save_link(voucher)
    assert link.startswith(SAVE)
    assert len(link) < 1800
    token = link.removeprefix(SAVE)
    claims = jwt.decode(
        token, google_on.private_key.public_key(), algorithms=["RS256"], audience="google"
    )
    assert claims["typ"] == "savetowallet"
    assert claims["payload"] == {
        "offerObjects": [
            {
                "id": f"{ISSUER}.voucher-{voucher.pk}",
                "classId": f"{ISSUER}.offer-program-{voucher.program_id}",
            }
        ]
    }
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # not the account's
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other.public_key(), algorithms=["RS256"], audience="google")


def test_a_voucher_issued_before_offers_gets_its_object_when_its_save_link_is_followed(
    google_on, voucher, client
):
    assert google_on.resources == {}  # issued, but its message was delivered before offers
    url = reverse(
        "wallet:google_card_voucher_save",
        kwargs={"card_token": voucher.card.token, "voucher_id": voucher.pk},
    )
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(SAVE)
    assert response["Cache-Control"] == "no-store"
    assert offer_object(google_on, voucher)["state"] == "ACTIVE"
    assert ("offerClass", f"{ISSUER}.offer-program-{voucher.program_id}") in google_on.resources
    google_on.requests.clear()
    assert client.get(url).status_code == 302  # again: patched, nothing inserted twice
    assert [method for method, _path in google_on.api_calls()] == ["PATCH", "PATCH"]


def test_another_cards_voucher_is_not_found(google_on, voucher, business, staff_actor, client):
    from tests import factories

    other = factories.CardFactory(program=voucher.program)
    url = reverse(
        "wallet:google_card_voucher_save",
        kwargs={"card_token": other.token, "voucher_id": voucher.pk},
    )
    assert client.get(url).status_code == 404
    assert google_on.api_calls() == []


def test_the_voucher_page_offers_the_save_link_when_google_is_set_up(
    google_on, business, staff_actor, card, client, settings
):
    voucher = issue(
        business,
        staff_actor,
        card=card,
        program=card.program,
        code="",
        redemption_method=RedemptionMethod.SELF_REDEEM,
    )
    page = reverse("customer:voucher", kwargs={"card_token": card.token, "voucher_id": voucher.pk})
    save = reverse(
        "wallet:google_card_voucher_save",
        kwargs={"card_token": card.token, "voucher_id": voucher.pk},
    )
    assert f'href="{save}"' in client.get(page).content.decode()
    settings.GOOGLE_WALLET_ISSUER_ID = ""
    assert f'href="{save}"' not in client.get(page).content.decode()


def test_a_program_design_change_rewrites_its_offer_class(google_on, voucher):
    from stampcard.wallet import changes

    sync_google_offer(told(voucher, Topic.VOUCHER_ISSUED))
    program = voucher.program
    program.name = "Bean card"
    program.background_color = "#7c2d12"
    program.save()
    (change,) = OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED)
    google_on.requests.clear()
    sync_google_program(change)
    class_path = f"/walletobjects/v1/offerClass/{ISSUER}.offer-program-{program.pk}"
    assert ("PATCH", class_path) in google_on.api_calls()
    offer_class = google_on.resources[("offerClass", f"{ISSUER}.offer-program-{program.pk}")]
    assert offer_class["title"] == "Bean card"
    assert offer_class["hexBackgroundColor"] == "#7c2d12"
    assert offer_class["titleImage"]["sourceUri"]["uri"] == google.logo_url(program)
    assert urlsplit(offer_class["titleImage"]["sourceUri"]["uri"]).path.endswith(
        f"-{program.design_version}.png"
    )


def test_a_voucher_without_a_card_is_saved_through_its_own_token(
    google_on, business, staff_actor, client
):
    voucher = issue(business, staff_actor)
    url = reverse("wallet:google_voucher_save", kwargs={"voucher_token": voucher.token})
    response = client.get(url)
    assert response.status_code == 302
    token = response["Location"].removeprefix(SAVE)
    claims = jwt.decode(
        token, google_on.private_key.public_key(), algorithms=["RS256"], audience="google"
    )
    assert claims["payload"]["offerObjects"][0]["id"] == f"{ISSUER}.voucher-{voucher.pk}"
    assert offer_object(google_on, voucher)["classId"] == f"{ISSUER}.offer-business-{business.pk}"
    assert client.get(url.replace(voucher.token, "x" * len(voucher.token))).status_code == 404


def test_the_card_page_offers_each_vouchers_save_link_when_google_is_set_up(
    google_on, voucher, client, settings
):
    card = voucher.card
    page = reverse("customer:card", kwargs={"card_token": card.token})
    save = reverse(
        "wallet:google_card_voucher_save",
        kwargs={"card_token": card.token, "voucher_id": voucher.pk},
    )
    assert f'href="{save}"' in client.get(page).content.decode()
    settings.GOOGLE_WALLET_ISSUER_ID = ""
    assert f'href="{save}"' not in client.get(page).content.decode()


def picture(size=(900, 300), color=(30, 160, 60)):
    """A voucher picture as the issuing stores it (drawn again by ``clean_image``)."""
    import io

    from PIL import Image

    from stampcard.uploads import clean_image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return clean_image(out.getvalue())


def test_the_vouchers_picture_is_the_offers_hero_image_at_a_public_address_of_ours(
    google_on, business, staff_actor, card, client, settings, tmp_path
):
    import io

    from PIL import Image

    settings.MEDIA_ROOT = tmp_path / "media"
    voucher = issue(business, staff_actor, card=card, program=card.program, image=picture())
    sync_google_offer(told(voucher, Topic.VOUCHER_ISSUED))
    body = offer_object(google_on, voucher)
    uri = body["heroImage"]["sourceUri"]["uri"]
    assert uri.startswith("https://cards.example.org/wallet/google/voucher/")
    # The address names nothing secret: not the voucher's token, not its stored file.
    assert voucher.token not in uri
    assert voucher.image.name.split("/")[-1].split(".")[0] not in uri
    path = urlsplit(uri).path
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "immutable" in response["Cache-Control"]
    hero = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert hero.size == (1032, 336)
    green = hero.getpixel((516, 168))
    assert green[1] > 120
    assert green[0] < 80
    # Another voucher's id, or a digest that is not this picture's, shows nothing.
    other = issue(business, staff_actor, card=card, image=picture(color=(0, 0, 255)))
    digest = path.rsplit("-", 1)[1]
    assert client.get(f"/wallet/google/voucher/{other.pk}-{digest}").status_code == 404
    assert client.get(path.replace(digest[:4], "0000")).status_code == 404


def test_a_voucher_without_a_picture_has_no_hero_image(google_on, voucher):
    sync_google_offer(told(voucher, Topic.VOUCHER_ISSUED))
    assert "heroImage" not in offer_object(google_on, voucher)
