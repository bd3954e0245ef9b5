"""One-time links to a card are forgotten a day after they expired, by a periodic job."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_scopes import scope

from stampcard.customer import housekeeping
from stampcard.customer.models import HandOverLink, ReturnLink
from tests import factories

pytestmark = pytest.mark.django_db


def links(business, card, expired_ago):
    """A return link and a hand-over link of ``card``, both expired ``expired_ago`` ago."""
    expires = timezone.now() - expired_ago
    tag = f"{expired_ago.total_seconds():.0f}"
    ReturnLink.objects.create(
        business=business,
        customer=card.customer,
        program=card.program,
        token_hash=f"t{tag}",
        ticket_hash=f"k{tag}",
        code_hash="c",
        created_at=expires - timedelta(minutes=15),
        expires_at=expires,
        used_at=expires - timedelta(minutes=10),
    )
    HandOverLink.objects.create(
        business=business,
        card=card,
        token_hash=f"h{tag}",
        created_at=expires - timedelta(minutes=5),
        expires_at=expires,
    )


def test_links_expired_over_a_day_ago_go_and_the_others_stay(business, other_business):
    card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    other = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    links(business, card, timedelta(days=1, minutes=1))  # used, and long expired
    links(other_business, other, timedelta(days=3))  # every business's
    links(business, card, timedelta(hours=23))  # expired, but not a day ago yet
    links(business, card, -timedelta(minutes=4))  # still works
    # Run as a worker runs it: tenant scopes on, and no business chosen.
    with scope():
        assert housekeeping.purge_spent_links() == 4
    assert sorted(ReturnLink.objects.values_list("token_hash", flat=True)) == ["t-240", "t82800"]
    assert sorted(HandOverLink.objects.values_list("token_hash", flat=True)) == [
        "h-240",
        "h82800",
    ]


def test_the_purge_is_a_periodic_job():
    """On the beat schedule, which deliver_outbox also runs without a broker."""
    entry = django_settings.CELERY_BEAT_SCHEDULE["customer-links-purge"]
    assert entry["task"] == "stampcard.customer.tasks.purge_spent_links"
    assert entry["schedule"] <= 24 * 3600
