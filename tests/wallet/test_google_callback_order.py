"""Google's callbacks arriving out of order: the install state follows the events as they
happened (their messages' signed ``expTimeMillis``), not as they arrived."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template.defaultfilters import date as date_filter
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stampcard.wallet.google_callbacks import take_callback
from stampcard.wallet.models import GoogleCallbackNonce, GoogleInstall
from tests.concurrency import needs_postgres, run_in_parallel
from tests.wallet.google_standin import ISSUER, Signer, configured

URL = "/wallet/google/callback"


@pytest.fixture
def signer():
    return Signer()


@pytest.fixture
def google_on(settings, tmp_path, signer):
    yield from configured(settings, tmp_path, signer)


def callback(signer, card, *, event, nonce, expires_in):
    """A callback whose message expires ``expires_in`` seconds from now: the later the
    event, the later its message expires."""
    return signer.callback(
        recipient=ISSUER,
        class_id=f"{ISSUER}.program-{card.program.pk}",
        object_id=f"{ISSUER}.card-{card.code}",
        event=event,
        nonce=nonce,
        expires_ms=int((time.time() + expires_in) * 1000),
    )


def post(client, body):
    return client.post(URL, body, content_type="application/json")


def install(card):
    return GoogleInstall.objects.get(card=card)


@pytest.mark.django_db
def test_an_older_event_arriving_after_a_newer_one_is_ignored(google_on, signer, card, client):
    saved = callback(signer, card, event="save", nonce="save-1", expires_in=60)
    deleted = callback(signer, card, event="del", nonce="del-1", expires_in=120)
    # The delete (the later event) arrives first, then the save it followed.
    assert post(client, deleted).status_code == 200
    assert post(client, saved).status_code == 200
    state = install(card)
    assert state.saved is False
    assert state.message_expires_at.timestamp() == pytest.approx(time.time() + 120, abs=30)
    # The late one was taken all the same: Google's retries of it are ignored too.
    assert set(GoogleCallbackNonce.objects.values_list("nonce", flat=True)) == {"save-1", "del-1"}
    assert post(client, saved).status_code == 200
    assert install(card).saved is False


@pytest.mark.django_db
def test_events_arriving_in_order_each_apply(google_on, signer, card, client):
    for n, event in enumerate(["save", "del", "save"]):
        body = callback(signer, card, event=event, nonce=f"in-order-{n}", expires_in=60 + n)
        assert post(client, body).status_code == 200
        assert install(card).saved is (event == "save")


@pytest.mark.django_db
def test_a_state_from_before_the_expiry_was_kept_gives_way_to_any_event(
    google_on, signer, card, client
):
    GoogleInstall.objects.create(
        business=card.business, card=card, saved=True, event_at=timezone.now()
    )
    body = callback(signer, card, event="del", nonce="after-upgrade", expires_in=60)
    assert post(client, body).status_code == 200
    assert install(card).saved is False


@pytest.mark.django_db
def test_the_card_page_shows_the_time_of_the_event_in_force(google_on, signer, card, client, owner):
    real_now = timezone.now()
    delete_arrived = (real_now - timedelta(hours=3)).replace(second=0, microsecond=0)
    late_save_arrived = (real_now - timedelta(hours=1)).replace(second=0, microsecond=0)
    take_callback(
        callback(signer, card, event="del", nonce="page-del", expires_in=120),
        now=delete_arrived,
    )
    take_callback(
        callback(signer, card, event="save", nonce="page-save", expires_in=60),
        now=late_save_arrived,
    )
    client.force_login(owner)
    page = client.get(reverse("dashboard:card", args=[card.business.slug, card.code]))
    text = page.content.decode()
    with timezone.override(ZoneInfo(card.business.time_zone)):  # as the page shows times
        shown = date_filter(timezone.localtime(delete_arrived), "SHORT_DATETIME_FORMAT")
        late = date_filter(timezone.localtime(late_save_arrived), "SHORT_DATETIME_FORMAT")
    assert f"Removed ({shown})" in text
    assert late not in text
    assert "Saved (" not in text


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_callbacks_of_one_card_arriving_at_once_leave_the_latest_event(google_on, signer, card):
    # A burst of saves and deletes of one card, all at once, in an order unrelated to when
    # each happened: the state in force must be the latest event's, whatever won the race.
    # (Under update_or_create, the last writer won, and two first writers could collide.)
    count = 12
    now_ms = int(time.time() * 1000)
    expires_ms = [now_ms + (60 + n) * 1000 for n in range(count)]
    events = ["save" if n % 2 else "del" for n in range(count)]
    bodies = [
        signer.callback(
            recipient=ISSUER,
            class_id=f"{ISSUER}.program-{card.program.pk}",
            object_id=f"{ISSUER}.card-{card.code}",
            event=events[n],
            nonce=f"burst-{n}",
            expires_ms=expires_ms[n],
        )
        for n in range(count)
    ]
    # Delivered backwards: the latest event (a save) starts first.
    bodies.reverse()
    # One taken beforehand, so the root keys are fetched once, not by every thread.
    take_callback(callback(signer, card, event="del", nonce="burst-warm", expires_in=5))

    def deliver(i: int) -> int:
        return Client().post(URL, bodies[i], content_type="application/json").status_code

    assert run_in_parallel(deliver, count, workers=count) == [200] * count
    state = install(card)
    assert state.saved is (events[-1] == "save")
    assert state.message_expires_at == datetime.fromtimestamp(expires_ms[-1] / 1000, UTC)
    assert GoogleCallbackNonce.objects.filter(nonce__startswith="burst-").count() == count + 1
