"""A program change rewrites many Google objects: a few calls at a time, never one by one."""

import pytest
from django.utils import timezone

from stampcard.outbox.models import OutboxMessage
from stampcard.wallet import changes, google
from stampcard.wallet.google_consumers import sync_google_program
from stampcard.wallet.models import GoogleInstall
from tests import factories
from tests.wallet.google_standin import ISSUER, Signer, configured

pytestmark = pytest.mark.django_db

CARDS = 24


@pytest.fixture
def google_on(settings, tmp_path):
    settings.GOOGLE_WALLET_CONCURRENCY = 4
    yield from configured(settings, tmp_path, Signer())


@pytest.fixture
def saved_cards(google_on, program):
    """Cards saved in Google Wallet, their objects and class already at Google."""
    cards = [factories.CardFactory(program=program) for _ in range(CARDS)]
    GoogleInstall.objects.bulk_create(
        GoogleInstall(business=program.business, card=card, saved=True, event_at=timezone.now())
        for card in cards
    )
    factories.CardFactory(program=program)  # not in Google Wallet: not written
    sync_google_program(program_changed(program, "Tea card"))
    google_on.requests.clear()
    return cards


def program_changed(program, name="Bean card"):
    program.name = name
    program.save()
    return OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED).latest("pk")


def object_patches(standin):
    return [path for method, path in standin.api_calls() if "/loyaltyObject/" in path]


def test_every_saved_object_is_written_at_most_the_set_number_at_a_time(
    google_on, program, saved_cards
):
    google_on.latency = 0.02  # Google's round trip, roughly: calls overlap
    sync_google_program(program_changed(program))
    written = {path.rsplit("/", 1)[1] for path in object_patches(google_on)}
    assert written == {f"{ISSUER}.card-{card.code}" for card in saved_cards}
    assert 1 <= google_on.most_in_flight <= 4
    for card in saved_cards:
        body = google_on.resources[("loyaltyObject", f"{ISSUER}.card-{card.code}")]
        assert body["id"] == f"{ISSUER}.card-{card.code}"


def test_google_unavailable_stops_the_run_for_a_retry_that_writes_all(
    google_on, program, saved_cards
):
    message = program_changed(program)
    google_on.fail_next = [None, None, 503]  # the class and one object pass, then Google fails
    with pytest.raises(google.GoogleWalletUnavailable):
        sync_google_program(message)
    sent = len(object_patches(google_on))
    assert sent < CARDS + 8  # it stopped instead of sending everything into the outage
    google_on.requests.clear()
    sync_google_program(message)  # the outbox's retry
    for card in saved_cards:
        body = google_on.resources[("loyaltyObject", f"{ISSUER}.card-{card.code}")]
        assert body["classId"] == f"{ISSUER}.program-{program.pk}"


def test_one_refused_object_does_not_stop_the_others(google_on, program, saved_cards, caplog):
    message = program_changed(program)
    google_on.fail_next = [None, 400]  # the class passes, one object is refused
    sync_google_program(message)
    assert "Google Wallet refused a loyaltyObject" in caplog.text
    program.refresh_from_db()
    current = f"-{program.design_version}-0.png"  # the hero image of the new design
    written = [
        body
        for (kind, _), body in google_on.resources.items()
        if kind == "loyaltyObject" and body["heroImage"]["sourceUri"]["uri"].endswith(current)
    ]
    assert len(written) == CARDS - 1


def test_a_business_rename_rewrites_the_class_it_shows(google_on, program, saved_cards):
    """The class was written for this design already; a rename leaves the design alone."""
    design = program.design_version
    business = program.business
    business.name = "Corner Cafe & Bakery"
    business.save()
    message = OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED).latest("pk")
    assert message.payload.get("program_id") is None
    sync_google_program(message)
    program.refresh_from_db()
    assert program.design_version == design
    body = google_on.resources[("loyaltyClass", f"{ISSUER}.program-{program.pk}")]
    assert body["issuerName"] == "Corner Cafe & Bakery"
