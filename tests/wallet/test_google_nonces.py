"""Nonces of Google's callbacks: kept long enough to stop replays, then purged."""

import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from stampcard.wallet import google_callbacks
from stampcard.wallet.models import GoogleCallbackNonce, GoogleInstall
from tests.wallet.google_standin import ISSUER, Signer, configured

pytestmark = pytest.mark.django_db

URL = "/wallet/google/callback"
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def signer():
    return Signer()


@pytest.fixture
def google_on(settings, tmp_path, signer):
    settings.GOOGLE_WALLET_NONCE_KEEP_DAYS = 7
    yield from configured(settings, tmp_path, signer)


def callback(signer, card, *, nonce, expires_ms=None, event="save"):
    return signer.callback(
        recipient=ISSUER,
        class_id=f"{ISSUER}.program-{card.program.pk}",
        object_id=f"{ISSUER}.card-{card.code}",
        nonce=nonce,
        expires_ms=expires_ms,
        # The intermediate key outlives the message: its expiry is what is checked last.
        key_expires_ms=int(time.time() * 1000) + 30 * DAY_MS,
        event=event,
    )


def post(client, body):
    return client.post(URL, body, content_type="application/json")


def test_nonces_older_than_the_keep_are_purged_and_newer_ones_stay(google_on):
    now = timezone.now()
    GoogleCallbackNonce.objects.create(nonce="old", received_at=now - timedelta(days=8))
    GoogleCallbackNonce.objects.create(nonce="recent", received_at=now - timedelta(days=6))
    assert google_callbacks.purge_nonces(now=now) == 1
    assert list(GoogleCallbackNonce.objects.values_list("nonce", flat=True)) == ["recent"]


def test_a_callback_valid_longer_than_its_nonce_is_kept_is_refused(google_on, signer, card, client):
    now_ms = int(time.time() * 1000)
    too_long = callback(signer, card, nonce="far", expires_ms=now_ms + 8 * DAY_MS)
    response = post(client, too_long)
    assert response.status_code == 400
    assert response.json() == {"error": "expires_too_late"}
    assert not GoogleCallbackNonce.objects.exists()
    assert not GoogleInstall.objects.exists()
    within = callback(signer, card, nonce="near", expires_ms=now_ms + 6 * DAY_MS)
    assert post(client, within).status_code == 200


def test_after_the_purge_a_replay_is_still_refused_as_expired(google_on, signer, card, client):
    """The guarantee the purge rests on: a purged nonce's callback has expired by then."""
    now_ms = int(time.time() * 1000)
    body = callback(signer, card, nonce="once", expires_ms=now_ms + 6 * DAY_MS)
    assert post(client, body).status_code == 200
    later = timezone.now() + timedelta(days=7, minutes=1)
    assert google_callbacks.purge_nonces(now=later) == 1
    assert not GoogleCallbackNonce.objects.exists()
    with pytest.raises(google_callbacks.CallbackRefused) as refused:
        google_callbacks.take_callback(body, now=later)
    assert refused.value.code == "expired"


def test_the_purge_is_a_periodic_job():
    entry = django_settings.CELERY_BEAT_SCHEDULE["google-nonces-purge"]
    assert entry["task"] == "stampcard.wallet.tasks.purge_google_nonces"
    assert entry["schedule"] <= 24 * 3600


def test_the_purge_finds_old_nonces_through_their_index(settings):
    from django.db import connection

    settings.GOOGLE_WALLET_NONCE_KEEP_DAYS = 7
    now = timezone.now()
    GoogleCallbackNonce.objects.bulk_create(
        GoogleCallbackNonce(nonce=f"n-{i}", received_at=now - timedelta(days=i, minutes=1))
        for i in range(50)
    )
    query = GoogleCallbackNonce.objects.filter(received_at__lt=now - timedelta(days=7))
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small is scanned
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "google_nonce_received" in plan
    assert google_callbacks.purge_nonces(now=now) == 43  # 7 days and a minute, and older
    assert GoogleCallbackNonce.objects.count() == 7
