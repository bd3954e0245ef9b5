"""Google Wallet: the REST client and the outbox consumer against a stand-in on loopback."""

import io
import json
from urllib.parse import unquote

import jwt
import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from PIL import Image

from stampcard.loyalty.models import Reward, RewardStatus
from stampcard.loyalty.services import add_stamps
from stampcard.outbox.models import OutboxMessage, Topic
from stampcard.outbox.services import publish
from stampcard.tenancy.actors import Actor
from stampcard.vouchers.models import RedemptionMethod, VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from stampcard.wallet import google
from stampcard.wallet.google_consumers import sync_google_object
from stampcard.wallet.models import GoogleClassState, PassSend, Wallet
from tests import factories
from tests.wallet.google_standin import ISSUER, Signer, configured

pytestmark = pytest.mark.django_db


@pytest.fixture
def signer():
    return Signer()


@pytest.fixture
def google_on(settings, tmp_path, signer):
    yield from configured(settings, tmp_path, signer)


SYSTEM = Actor.system()
MANUAL = {"origin": VoucherOrigin.MANUAL, "redemption_method": RedemptionMethod.STAFF_SCAN}
CONSUMER = "stampcard.wallet.google_consumers.sync_google_object"


def message(card, topic=Topic.CARD_CHANGED, **payload):
    """A committed outbox message for ``card``, as the dispatcher hands it over."""
    card.refresh_from_db()
    if topic == Topic.CARD_CHANGED:
        payload = {"card_id": card.pk, "version": card.version, **payload}
    else:
        payload = {"card_id": card.pk, **payload}
    return OutboxMessage.objects.create(business_id=card.business_id, topic=topic, payload=payload)


def object_path(card):
    return f"/walletobjects/v1/loyaltyObject/{ISSUER}.card-{card.code}"


def ready_reward(card):
    return Reward.objects.create(
        business=card.business,
        card=card,
        cycle=1,
        stamps_used=card.program.stamps_goal,
        kind="simple",
        status=RewardStatus.READY,
        created_at=timezone.now(),
    )


def test_the_consumer_hears_every_topic_that_changes_a_card():
    for topic in (
        "card.changed",
        "customer.joined",
        "reward.earned",
        "voucher.issued",
        "voucher.redeemed",
        "voucher.voided",
    ):
        assert CONSUMER in django_settings.OUTBOX_CONSUMERS[topic]


def test_without_credentials_nothing_is_sent_and_there_is_no_save_link(card, settings):
    settings.GOOGLE_WALLET_ISSUER_ID = ""
    settings.GOOGLE_WALLET_SERVICE_ACCOUNT_FILE = ""
    google.reset_client()
    assert google.save_link(card) is None
    sync_google_object(message(card))  # would fail to reach any server
    assert not PassSend.objects.exists()


def test_the_first_sync_gets_a_token_by_the_jwt_bearer_grant_and_inserts_class_and_object(
    google_on, card
):
    sync_google_object(message(card, Topic.CUSTOMER_JOINED))
    (grant,) = google_on.grants
    assert grant["iss"] == "wallet@stampcard-test.iam.gserviceaccount.com"
    assert grant["scope"] == google.SCOPE
    assert google_on.api_calls() == [
        ("PATCH", f"/walletobjects/v1/loyaltyClass/{ISSUER}.program-{card.program.pk}"),
        ("POST", "/walletobjects/v1/loyaltyClass"),
        ("PATCH", object_path(card)),
        ("POST", "/walletobjects/v1/loyaltyObject"),
    ]
    api = [r for r in google_on.requests if r["path"].startswith("/walletobjects")]
    assert {r["headers"]["Authorization"] for r in api} == {"Bearer ya29.standin-1"}
    cls = google_on.resources[("loyaltyClass", f"{ISSUER}.program-{card.program.pk}")]
    assert cls["programName"] == "Coffee card"
    assert cls["issuerName"] == card.business.name
    assert cls["hexBackgroundColor"] == "#1f2937"
    assert cls["callbackOptions"] == {"url": "https://cards.example.org/wallet/google/callback"}
    assert cls["programLogo"]["sourceUri"]["uri"].startswith(
        "https://cards.example.org/wallet/google/logo/"
    )
    obj = google_on.resources[("loyaltyObject", f"{ISSUER}.card-{card.code}")]
    assert obj["classId"] == cls["id"]
    assert obj["state"] == "ACTIVE"
    assert obj["loyaltyPoints"]["balance"] == {"string": "0/10"}
    assert obj["secondaryLoyaltyPoints"]["balance"] == {"int": 0}
    assert obj["barcode"] == {
        "type": "QR_CODE",
        "value": card.code,
        "alternateText": card.display_code,
    }
    assert "notifyPreference" not in obj  # a patch never notifies by itself
    (send,) = PassSend.objects.all()
    assert (send.wallet, send.notified, send.reason) == (Wallet.GOOGLE, False, "update")


def test_a_stamp_patches_the_object_only_and_the_token_is_reused(google_on, card):
    sync_google_object(message(card, Topic.CUSTOMER_JOINED))
    google_on.requests.clear()
    add_stamps(business=card.business, actor=SYSTEM, source="staff", count=1, card_id=card.pk)
    change = OutboxMessage.objects.filter(topic=Topic.CARD_CHANGED).get()
    sync_google_object(change)
    assert google_on.api_calls() == [("PATCH", object_path(card))]
    assert len(google_on.grants) == 1
    obj = google_on.resources[("loyaltyObject", f"{ISSUER}.card-{card.code}")]
    assert obj["loyaltyPoints"]["balance"] == {"string": "1/10"}
    # A new hero address for each stamp count, so Google's image cache never shows an old one.
    assert obj["heroImage"]["sourceUri"]["uri"].endswith(
        f"/wallet/google/hero/{card.program.pk}-{card.program.design_version}-1.png"
    )


def test_a_design_change_of_the_program_patches_the_class_with_the_next_change(google_on, card):
    sync_google_object(message(card, Topic.CUSTOMER_JOINED))
    program = card.program
    program.name = "Bean card"
    program.save()
    google_on.requests.clear()
    sync_google_object(message(card))
    assert google_on.api_calls()[0] == (
        "PATCH",
        f"/walletobjects/v1/loyaltyClass/{ISSUER}.program-{program.pk}",
    )
    cls = google_on.resources[("loyaltyClass", f"{ISSUER}.program-{program.pk}")]
    assert cls["programName"] == "Bean card"
    assert GoogleClassState.objects.get(program=program).design_version == 2


def test_a_program_change_rewrites_the_class_and_the_saved_objects_at_once(google_on, card):
    from stampcard.wallet import changes
    from stampcard.wallet.google_consumers import sync_google_program
    from stampcard.wallet.models import GoogleInstall

    unsaved = factories.CardFactory(program=card.program)
    for each in (card, unsaved):
        sync_google_object(message(each, Topic.CUSTOMER_JOINED))
    GoogleInstall.objects.create(
        business=card.business, card=card, saved=True, event_at=timezone.now()
    )
    program = card.program
    program.name = "Bean card"
    program.save()
    google_on.requests.clear()
    (change,) = OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED)
    sync_google_program(change)
    assert google_on.api_calls() == [
        ("PATCH", f"/walletobjects/v1/loyaltyClass/{ISSUER}.program-{program.pk}"),
        ("PATCH", object_path(card)),
    ]
    cls = google_on.resources[("loyaltyClass", f"{ISSUER}.program-{program.pk}")]
    assert cls["programName"] == "Bean card"
    obj = google_on.resources[("loyaltyObject", f"{ISSUER}.card-{card.code}")]
    assert obj["heroImage"]["sourceUri"]["uri"].endswith(f"-{program.design_version}-0.png")


def test_an_older_card_version_is_skipped(google_on, card):
    stale = message(card)
    add_stamps(business=card.business, actor=SYSTEM, source="staff", count=1, card_id=card.pk)
    sync_google_object(stale)
    assert google_on.api_calls() == []


def test_a_repeated_delivery_sends_the_message_once(google_on, card):
    reward = ready_reward(card)
    earned = message(card, Topic.REWARD_EARNED, reward_id=reward.pk, kind="simple", status="ready")
    sync_google_object(earned)
    sync_google_object(earned)
    (sent,) = google_on.messages[f"{ISSUER}.card-{card.code}"]
    assert sent["messageType"] == "TEXT_AND_NOTIFY"
    assert sent["id"] == f"stampcard-{earned.pk}"
    assert sent["header"] == "Reward ready"
    assert "Free coffee" in sent["body"]
    (send,) = PassSend.objects.filter(message_id=earned.pk)
    assert (send.notified, send.reason) == (True, "reward_ready")


def test_the_message_is_in_the_customers_language(google_on, card):
    card.customer.language = "th"
    card.customer.save()
    reward = ready_reward(card)
    sync_google_object(
        message(card, Topic.REWARD_EARNED, reward_id=reward.pk, kind="simple", status="ready")
    )
    (sent,) = google_on.messages[f"{ISSUER}.card-{card.code}"]
    assert sent["header"] != "Reward ready"
    obj = google_on.resources[("loyaltyObject", f"{ISSUER}.card-{card.code}")]
    assert obj["loyaltyPoints"]["label"] != "Stamps"


def test_a_fourth_milestone_in_a_day_is_a_silent_message(google_on, card):
    reward = ready_reward(card)
    for _ in range(4):
        sync_google_object(
            message(card, Topic.REWARD_EARNED, reward_id=reward.pk, kind="simple", status="ready")
        )
    kinds = [m["messageType"] for m in google_on.messages[f"{ISSUER}.card-{card.code}"]]
    assert kinds == ["TEXT_AND_NOTIFY"] * 3 + ["TEXT"]
    reasons = list(PassSend.objects.order_by("id").values_list("reason", flat=True))
    assert reasons == ["reward_ready"] * 3 + ["over_budget"]


def test_quota_exceeded_falls_back_to_a_silent_message_and_is_recorded(google_on, card):
    google_on.quota_exceeded = True
    voucher = issue_voucher(
        business=card.business, actor=SYSTEM, title="Free cake", card=card, **MANUAL
    )
    issued = OutboxMessage.objects.get(topic=Topic.VOUCHER_ISSUED)
    sync_google_object(issued)
    (sent,) = google_on.messages[f"{ISSUER}.card-{card.code}"]
    assert (sent["messageType"], sent["header"], sent["body"]) == (
        "TEXT",
        "New voucher",
        voucher.title,
    )
    (send,) = PassSend.objects.all()
    assert (send.notified, send.reason) == (False, "quota_exceeded")


def test_an_ordinary_change_adds_no_message(google_on, card):
    issue_voucher(business=card.business, actor=SYSTEM, title="Free cake", card=card, **MANUAL)
    OutboxMessage.objects.all().delete()
    with_card = message(card, Topic.VOUCHER_REDEEMED, voucher_id=1)
    sync_google_object(with_card)
    assert google_on.messages == {}
    assert PassSend.objects.get().reason == "update"


@pytest.mark.parametrize("status", [500, 503, 429])
def test_google_down_or_slowing_us_raises_so_the_outbox_retries(google_on, card, status):
    google_on.fail_next = [status]
    change = message(card)
    with pytest.raises(google.GoogleWalletUnavailable):
        sync_google_object(change)
    assert not PassSend.objects.exists()
    sync_google_object(change)  # the retry goes through
    assert PassSend.objects.count() == 1


def test_a_failed_notifying_message_gives_its_notification_back_for_the_retry(google_on, card):
    reward = ready_reward(card)
    earned = message(card, Topic.REWARD_EARNED, reward_id=reward.pk, kind="simple", status="ready")
    google_on.fail_next = [None, None, None, None, 503]  # class and object written, then down
    with pytest.raises(google.GoogleWalletUnavailable):
        sync_google_object(earned)
    assert not PassSend.objects.exists()
    sync_google_object(earned)
    (sent,) = google_on.messages[f"{ISSUER}.card-{card.code}"]
    assert sent["messageType"] == "TEXT_AND_NOTIFY"
    assert PassSend.objects.get().notified


def test_a_refusal_that_would_repeat_is_logged_not_retried(google_on, card, caplog):
    google_on.fail_next = [400]
    sync_google_object(message(card))
    assert "refused" in caplog.text
    assert not PassSend.objects.exists()


def test_an_unreachable_google_raises_for_a_retry(google_on, card, settings):
    settings.GOOGLE_WALLET_API_URL = "http://127.0.0.1:9/walletobjects/v1/"
    google.reset_client()
    with pytest.raises(google.GoogleWalletUnavailable):
        sync_google_object(message(card))


def test_a_revoked_token_is_renewed_once(google_on, card):
    sync_google_object(message(card, Topic.CUSTOMER_JOINED))
    google_on.tokens.clear()
    sync_google_object(message(card))
    assert len(google_on.grants) == 2


def test_a_voucher_without_a_card_is_not_googles_business(google_on, business):
    free = OutboxMessage.objects.create(
        business=business, topic=Topic.VOUCHER_ISSUED, payload={"voucher_id": 1, "card_id": None}
    )
    sync_google_object(free)
    assert google_on.requests == []


def test_the_outbox_delivers_a_stamp_to_google(google_on, card):
    from stampcard.outbox.dispatch import deliver

    add_stamps(business=card.business, actor=SYSTEM, source="staff", count=1, card_id=card.pk)
    change = OutboxMessage.objects.get(topic=Topic.CARD_CHANGED)
    assert deliver(change.pk) == "delivered"
    obj = google_on.resources[("loyaltyObject", f"{ISSUER}.card-{card.code}")]
    assert obj["loyaltyPoints"]["balance"] == {"string": "1/10"}


# The save link ------------------------------------------------------------------------------


def test_the_save_link_is_a_skinny_rs256_jwt_for_google(google_on, card):
    link = google.save_link(card)
    assert link.startswith("https://pay.google.com/gp/v/save/")
    assert len(link) < 1800
    token = link.removeprefix("https://pay.google.com/gp/v/save/")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token, google_on.private_key.public_key(), algorithms=["RS256"], audience="google"
    )
    assert claims["iss"] == "wallet@stampcard-test.iam.gserviceaccount.com"
    assert claims["typ"] == "savetowallet"
    assert claims["origins"] == ["https://cards.example.org"]
    assert claims["payload"] == {
        "loyaltyObjects": [
            {"id": f"{ISSUER}.card-{card.code}", "classId": f"{ISSUER}.program-{card.program.pk}"}
        ]
    }


@pytest.mark.parametrize(
    "base", ["https://cards.example.org/", "https://cards.example.org/stampcard/"]
)
def test_the_save_links_origin_is_the_sites_origin_without_a_path(google_on, card, settings, base):
    """Google matches ``origins`` against the page's origin: scheme, host and port only."""
    settings.PUBLIC_BASE_URL = base
    token = google.save_link(card).rsplit("/", 1)[1]
    claims = jwt.decode(
        token, google_on.private_key.public_key(), algorithms=["RS256"], audience="google"
    )
    assert claims["origins"] == ["https://cards.example.org"]


def test_a_save_link_does_not_verify_with_another_key(google_on, card):
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    token = google.save_link(card).rsplit("/", 1)[1]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other, algorithms=["RS256"], audience="google")


# The images Google fetches --------------------------------------------------------------------


def test_the_hero_image_is_the_stamp_grid_at_googles_size(google_on, card, client):
    program = card.program
    url = unquote(google.hero_url(program, 7)).removeprefix("https://cards.example.org")
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "immutable" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (1032, 336)


def test_the_logo_is_square_and_large_enough(google_on, card, client):
    url = google.logo_url(card.program).removeprefix("https://cards.example.org")
    image = Image.open(io.BytesIO(client.get(url).content))
    assert image.size[0] == image.size[1] >= 660


@pytest.mark.parametrize(
    "name", ["999999-1-0", "{p}-7-1", "{p}-1-11", "{p}-1", "x", "{p}-1-1-1", "1" * 40]
)
def test_an_image_of_no_current_design_is_not_found(google_on, card, client, name):
    response = client.get(f"/wallet/google/hero/{name.format(p=card.program.pk)}.png")
    assert response.status_code == 404


def test_publish_of_a_join_leads_to_an_object(google_on, business):
    from django.db import transaction

    program = factories.ProgramFactory(business=business)
    card = factories.CardFactory(program=program)
    with transaction.atomic():
        joined = publish(
            business_id=business.pk,
            topic=Topic.CUSTOMER_JOINED,
            customer_id=card.customer_id,
            card_id=card.pk,
            program_id=program.pk,
        )
    sync_google_object(joined)
    assert ("loyaltyObject", f"{ISSUER}.card-{card.code}") in google_on.resources
    assert (
        json.loads(
            next(r for r in google_on.requests if r["method"] == "POST" and "Object" in r["path"])[
                "body"
            ]
        )["id"]
        == f"{ISSUER}.card-{card.code}"
    )


def test_the_cards_save_button_writes_the_class_and_object_before_googles_save_page(
    google_on, card, client
):
    """A card the outbox never wrote (made before Google was set up, or followed at once),
    or wrote under an older design, is saved as it stands now."""
    save = f"/c/{card.token}/google"
    page = client.get(f"/c/{card.token}/").content.decode()
    assert f'href="{save}"' in page
    assert google_on.resources == {}
    response = client.get(save)
    assert response.status_code == 302
    assert response["Location"].startswith("https://pay.google.com/gp/v/save/")
    assert response["Cache-Control"] == "no-store"
    token = jwt.decode(response["Location"].rsplit("/", 1)[1], options={"verify_signature": False})
    (named,) = token["payload"]["loyaltyObjects"]
    obj = google_on.resources[("loyaltyObject", named["id"])]
    assert ("loyaltyClass", named["classId"]) in google_on.resources
    # A new design: the object's hero image of the old one is gone; following the button
    # again writes the current one.
    program = card.program
    program.background_color = "#0000aa"
    program.save()
    program.refresh_from_db()
    assert client.get(save).status_code == 302
    obj = google_on.resources[("loyaltyObject", named["id"])]
    assert obj["heroImage"]["sourceUri"]["uri"].endswith(f"-{program.design_version}-0.png")


def test_without_google_the_cards_save_button_is_not_found(card, client):
    assert client.get(f"/c/{card.token}/google").status_code == 404
