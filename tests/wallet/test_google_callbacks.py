"""Google's save/delete callbacks: ECv2SigningOnly verified, install state kept, replays ignored."""

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse

from stampcard.wallet.models import GoogleCallbackNonce, GoogleInstall, PassRegistration
from tests.wallet.google_standin import ISSUER, Signer, configured

pytestmark = pytest.mark.django_db


@pytest.fixture
def signer():
    return Signer()


@pytest.fixture
def google_on(settings, tmp_path, signer):
    yield from configured(settings, tmp_path, signer)


URL = "/wallet/google/callback"


def ids(card):
    return {
        "class_id": f"{ISSUER}.program-{card.program.pk}",
        "object_id": f"{ISSUER}.card-{card.code}",
    }


def post(client, body):
    return client.post(URL, body, content_type="application/json")


def test_the_callback_url_is_the_one_the_class_names():
    assert reverse("wallet:google_callback") == URL


def test_a_save_then_a_delete_is_the_cards_google_install_state(google_on, signer, card, client):
    saved = signer.callback(recipient=ISSUER, event="save", nonce="n-1", **ids(card))
    assert post(client, saved).status_code == 200
    assert GoogleInstall.objects.get(card=card).saved is True
    deleted = signer.callback(recipient=ISSUER, event="del", nonce="n-2", **ids(card))
    assert post(client, deleted).status_code == 200
    assert GoogleInstall.objects.get(card=card).saved is False


def test_a_replayed_nonce_is_answered_200_and_ignored(google_on, signer, card, client):
    assert (
        post(client, signer.callback(recipient=ISSUER, nonce="same", **ids(card))).status_code
        == 200
    )
    replay = signer.callback(recipient=ISSUER, event="del", nonce="same", **ids(card))
    assert post(client, replay).status_code == 200
    assert GoogleInstall.objects.get(card=card).saved is True
    assert GoogleCallbackNonce.objects.filter(nonce="same").count() == 1


def now_ms():
    return int(time.time() * 1000)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("wrong_recipient", "signature"),
        ("tampered", "signature"),
        ("expired", "expired"),
        ("intermediate_expired", "intermediate_expired"),
        ("foreign_root", "intermediate_signature"),
        ("root_expired", "intermediate_signature"),
        # ECv2SigningOnly root keys carry an expiry; one without is not trusted.
        ("root_without_expiry", "intermediate_signature"),
    ],
)
def test_a_callback_failing_a_check_is_refused_and_changes_nothing(
    google_on, signer, card, client, case, code
):
    kwargs = {"recipient": ISSUER, "nonce": f"n-{case}", **ids(card)}
    if case == "wrong_recipient":
        kwargs["recipient"] = "3388000000099999999"
    elif case == "tampered":
        kwargs["tamper"] = True
    elif case == "expired":
        kwargs["expires_ms"] = now_ms() - 1000
    elif case == "intermediate_expired":
        kwargs["key_expires_ms"] = now_ms() - 1000
    elif case == "foreign_root":
        kwargs["root"] = ec.generate_private_key(ec.SECP256R1())
    elif case == "root_expired":
        google_on.root_keys_document = signer.keys_document(expiration_ms=now_ms() - 1000)
    elif case == "root_without_expiry":
        google_on.root_keys_document = signer.keys_document(expires=False)
    response = post(client, signer.callback(**kwargs))
    assert response.status_code == 400
    assert response.json() == {"error": code}
    assert not GoogleInstall.objects.exists()
    assert not GoogleCallbackNonce.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"protocolVersion": "ECv2SigningOnly"}',
        b'{"protocolVersion": "ECv1"}',
    ],
)
def test_a_malformed_callback_is_refused(google_on, client, body):
    response = post(client, body)
    assert response.status_code == 400
    assert not GoogleCallbackNonce.objects.exists()


def test_a_huge_callback_is_refused_unread(google_on, client):
    response = post(client, b"{" + b" " * 20_000 + b"}")
    assert response.status_code == 413


def test_a_callback_for_an_object_that_is_not_ours_is_refused(google_on, signer, card, client):
    body = signer.callback(
        recipient=ISSUER, class_id=f"{ISSUER}.program-1", object_id=f"{ISSUER}.card-NOPE12345"
    )
    assert post(client, body).status_code == 400
    other_class = signer.callback(
        recipient=ISSUER, class_id=f"{ISSUER}.program-999999", object_id=ids(card)["object_id"]
    )
    assert post(client, other_class).status_code == 400
    assert not GoogleInstall.objects.exists()


def test_only_post_is_taken(google_on, client):
    assert client.get(URL).status_code == 405


def test_the_root_key_list_unreachable_refuses_for_a_retry(
    google_on, signer, card, client, settings
):
    """Our failure, not Google's: a server error, which Google's retries come back to (a 4xx
    would tell Google the callback itself was bad)."""
    reachable = settings.GOOGLE_WALLET_ROOT_KEYS_URL
    settings.GOOGLE_WALLET_ROOT_KEYS_URL = "http://127.0.0.1:9/keys"
    body = signer.callback(recipient=ISSUER, nonce="retried", **ids(card))
    response = post(client, body)
    assert response.status_code == 503
    assert response.json() == {"error": "root_keys_unavailable"}
    assert not GoogleCallbackNonce.objects.exists()
    settings.GOOGLE_WALLET_ROOT_KEYS_URL = reachable
    assert post(client, body).status_code == 200  # Google's retry
    assert GoogleInstall.objects.get(card=card).saved is True


def test_the_root_key_list_is_fetched_once_and_kept(google_on, signer, card, client):
    for n in range(3):
        post(client, signer.callback(recipient=ISSUER, nonce=f"k-{n}", **ids(card)))
    assert [r["path"] for r in google_on.requests].count("/keys") == 1


# The dashboard shows it ---------------------------------------------------------------------


def test_the_card_page_shows_where_the_card_is_installed(google_on, signer, card, client, owner):
    client.force_login(owner)
    url = reverse("dashboard:card", args=[card.business.slug, card.code])
    page = client.get(url).content.decode()
    assert "Not installed" in page
    assert "Not saved" in page
    PassRegistration.objects.create(
        business=card.business,
        card=card,
        device_library_id="device-1",
        pass_type_id="pass.local.stampcard",
        push_token="tok",
    )
    post(client, signer.callback(recipient=ISSUER, nonce="d-1", **ids(card)))
    page = client.get(url).content.decode()
    assert "Installed on 1 device" in page
    assert "Saved (" in page
    PassRegistration.objects.all().delete()
    post(client, signer.callback(recipient=ISSUER, event="del", nonce="d-2", **ids(card)))
    page = client.get(url).content.decode()
    assert "Not installed" in page
    assert "Removed (" in page
