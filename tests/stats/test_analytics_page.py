"""The analytics page draws the same charts and CSVs from the rollups as from the ledger."""

import re

import pytest
from django.utils import timezone

from stampcard.dashboard.analytics import CHART_SLUGS
from stampcard.stats.models import StampDay
from stampcard.stats.rollup import roll_up
from tests.dashboard.analytics_history import make_history

QUERIES = ("days=7&by=day", "days=30&by=week", "days=90&by=day", "days=365&by=week")


def drawn(client, query):
    page = client.get(f"/b/corner-cafe/analytics/?{query}")
    assert page.status_code == 200
    # The page's per-response secrets (CSP nonce, CSRF token) aside, every byte.
    html = re.sub(r'(nonce|value)="[^"]*"', "", page.content.decode())
    csvs = {
        slug: client.get(f"/b/corner-cafe/analytics/{slug}.csv?{query}").content
        for slug in CHART_SLUGS
    }
    return html, csvs


@pytest.mark.django_db
def test_the_page_and_every_csv_are_the_same_after_the_rollup(client, business, shop, owner, maria):
    make_history(business=business, shop=shop, owner=owner, manager=maria)
    client.force_login(owner)
    live = {query: drawn(client, query) for query in QUERIES}
    assert b"2" in live["days=7&by=day"][1]["stamps"]
    roll_up(until=timezone.now())
    assert StampDay.objects.filter(business=business).exists()
    assert {query: drawn(client, query) for query in QUERIES} == live
