"""A long-time customer's whole history on the profile page, a page at a time (keyset paging),
and the audit trail paged by the same helper."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stampcard.audit.models import AuditEntry
from stampcard.dashboard.customers import HISTORY_COUNT_CAP, HISTORY_PAGE
from stampcard.dashboard.views import AUDIT_PAGE
from stampcard.loyalty.models import Reward, RewardStatus, StampEvent, StampSource
from stampcard.tenancy.actors import ActorKind
from stampcard.vouchers.models import Voucher
from tests import factories

STAMPS, REWARDS, VOUCHERS = 230, 120, 61


def profile_url(card):
    return reverse(
        "dashboard:customer",
        kwargs={"business_slug": card.business.slug, "customer_id": card.customer_id},
    )


@pytest.fixture
def regular(business, program):
    """A customer with two cards, 230 ledger rows, 120 rewards and 61 vouchers; many rows
    share a time (a batch import, a clock's coarse tick), which is where paging slips."""
    card = factories.CardFactory(program=program, customer__name="Old Regular")
    second = factories.CardFactory(
        program=factories.ProgramFactory(business=business, name="Noodle card"),
        customer=card.customer,
    )
    stranger = factories.CardFactory(program=program)
    start = timezone.now() - timedelta(days=400)
    # Groups of 7 rows at one moment, ids not in time order within the business.
    moment = lambda n: start + timedelta(hours=n // 7)  # noqa: E731
    StampEvent.objects.bulk_create(
        StampEvent(
            business=business,
            card=(card, second)[n % 2],
            kind="stamp",
            delta=1,
            source=StampSource.STAFF,
            actor_kind=ActorKind.STAFF,
            balance_after=1,
            created_at=moment(STAMPS - n),  # created newest first: ids run against time
        )
        for n in range(STAMPS)
    )
    StampEvent.objects.bulk_create(
        StampEvent(
            business=business,
            card=stranger,
            kind="stamp",
            delta=1,
            source=StampSource.STAFF,
            actor_kind=ActorKind.STAFF,
            balance_after=1,
            created_at=moment(n),
        )
        for n in range(20)
    )
    Reward.objects.bulk_create(
        Reward(
            business=business,
            card=(card, second)[n % 2],
            kind="simple",
            status=RewardStatus.REDEEMED,
            cycle=n + 1,
            stamps_used=10,
            created_at=moment(n),
        )
        for n in range(REWARDS)
    )
    Voucher.objects.bulk_create(
        Voucher(
            business=business,
            card=card,
            token=f"token-{n}",
            title=f"Voucher {n}",
            redemption_method="self",
            valid_from=start,
            origin="manual",
        )
        for n in range(VOUCHERS)
    )
    for n, pk in enumerate(Voucher.objects.filter(card=card).values_list("pk", flat=True)):
        Voucher.objects.filter(pk=pk).update(created_at=moment(n // 3 * 3))
    return card


def expected(queryset):
    return list(queryset.order_by("-created_at", "-pk").values_list("pk", flat=True))


def walk(client, url, key, direction="older"):
    """Follow one history's links from ``url``; returns the pages' row ids, the queries
    each page took and the pages' addresses."""
    pages, queries, urls = [], [], []
    while url:
        urls.append(url)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        page = response.context[key]
        pages.append([row.pk for row in page.rows])
        queries.append(captured.captured_queries)
        link = getattr(page, direction)
        url = response.request["PATH_INFO"] + link if link else ""
        if link:
            # The link is on the page, and brings the reader back to the section.
            assert link.replace("&", "&amp;") in response.content.decode()
    return pages, queries, urls


@pytest.mark.parametrize(
    ("key", "rows", "size"),
    [
        ("events", lambda c: StampEvent.objects.filter(card__customer=c.customer), STAMPS),
        ("rewards", lambda c: Reward.objects.filter(card__customer=c.customer), REWARDS),
        ("vouchers", lambda c: Voucher.objects.filter(card__customer=c.customer), VOUCHERS),
    ],
)
def test_every_row_of_a_long_history_is_shown_once_in_order(
    client, owner, regular, key, rows, size
):
    client.force_login(owner)
    want = expected(rows(regular))
    assert len(want) == size
    older, queries, urls = walk(client, profile_url(regular), key)
    assert [len(page) for page in older] == [HISTORY_PAGE] * (size // HISTORY_PAGE) + (
        [size % HISTORY_PAGE] if size % HISTORY_PAGE else []
    )
    assert [pk for page in older for pk in page] == want  # no gap, no repeat, newest first
    # Back from the oldest page: the same pages, met in reverse.
    newer, _, _ = walk(client, urls[-1], key, "newer")
    assert newer == older[::-1]
    # A page far back costs what the first does: no OFFSET, and the only COUNTs are the
    # sections' counts, each stopped by a LIMIT.
    assert len({len(page) for page in queries}) == 1
    for page in queries:
        for query in page:
            assert not re.search(r"\bOFFSET\b", query["sql"]), query["sql"]
            if re.search(r"\bCOUNT\(", query["sql"]):
                assert f"LIMIT {HISTORY_COUNT_CAP + 1}" in query["sql"], query["sql"]


def test_each_history_pages_on_its_own(client, owner, regular):
    client.force_login(owner)
    first = client.get(profile_url(regular))
    # Two pages down the stamps; the rewards and vouchers stay where they were.
    second = client.get(profile_url(regular) + first.context["events"].older)
    third = client.get(profile_url(regular) + second.context["events"].older)
    assert third.context["events"].rows[0].pk not in {
        row.pk for row in second.context["events"].rows
    }
    assert [r.pk for r in third.context["rewards"].rows] == [
        r.pk for r in first.context["rewards"].rows
    ]
    rewards_older = third.context["rewards"].older
    assert "stamps_before=" in rewards_older
    assert "rewards_before=" in rewards_older
    fourth = client.get(profile_url(regular) + rewards_older)
    assert [e.pk for e in fourth.context["events"].rows] == [
        e.pk for e in third.context["events"].rows
    ]
    assert (
        fourth.context["rewards"].rows[0].pk
        == expected(Reward.objects.filter(card__customer=regular.customer))[HISTORY_PAGE]
    )


def test_each_section_counts_its_rows_and_opens_when_the_link_pages_it(client, owner, regular):
    client.force_login(owner)
    first = client.get(profile_url(regular))
    counts = first.context["counts"]
    assert (counts["events"].number, counts["events"].more) == (STAMPS, False)
    assert (counts["rewards"].number, counts["vouchers"].number) == (REWARDS, VOUCHERS)
    html = first.content.decode()
    for section, count in (("stamps", STAMPS), ("rewards", REWARDS), ("vouchers", VOUCHERS)):
        # Folded on arrival, the count in the summary.
        assert f'<details class="history" id="{section}">' in html
        assert re.search(
            rf'id="{section}">\s*<summary>.*?<span class="count">{count}</span>', html, re.S
        )
    paged = client.get(profile_url(regular) + first.context["rewards"].older).content.decode()
    assert '<details class="history" id="rewards" open>' in paged
    assert '<details class="history" id="stamps">' in paged
    newest = client.get(profile_url(regular), {"vouchers_after": "99999999999999999_1"})
    assert '<details class="history" id="vouchers" open>' in newest.content.decode()
    # A link may name the section to open (the correction comes back to the stamps so).
    named = client.get(profile_url(regular), {"open": "stamps"}).content.decode()
    assert '<details class="history" id="stamps" open>' in named
    assert '<details class="history" id="rewards">' in named


def test_a_count_past_the_cap_says_so(client, owner, regular, monkeypatch):
    monkeypatch.setattr("stampcard.dashboard.customers.HISTORY_COUNT_CAP", 100)
    client.force_login(owner)
    response = client.get(profile_url(regular))
    counts = response.context["counts"]
    assert (counts["events"].number, counts["events"].more) == (100, True)
    assert (counts["rewards"].number, counts["rewards"].more) == (100, True)
    assert (counts["vouchers"].number, counts["vouchers"].more) == (VOUCHERS, False)
    assert '<span class="count">100+</span>' in response.content.decode()


@pytest.mark.parametrize(
    "nonsense",
    ["x", "-1", "1_", "_1", "99999999999999999_1", "1" * 40 + "_1", "1_" + "9" * 30, "1.5_2"],
)
def test_a_made_up_cursor_shows_the_newest_page_or_another_window(client, owner, regular, nonsense):
    client.force_login(owner)
    for name in ("stamps_before", "stamps_after"):
        response = client.get(profile_url(regular), {name: nonsense})
        assert response.status_code == 200
        assert len(response.context["events"].rows) == HISTORY_PAGE


def test_a_cursor_past_either_end(client, owner, regular):
    client.force_login(owner)
    oldest = client.get(profile_url(regular), {"stamps_before": "1_1"}).context["events"]
    assert oldest.rows == []
    assert oldest.older == ""
    assert oldest.newer
    newest = client.get(profile_url(regular), {"stamps_after": "99999999999999999_1"})
    page = newest.context["events"]
    assert len(page.rows) == HISTORY_PAGE
    assert page.newer == ""
    assert page.older


def test_a_member_limited_to_a_shop_pages_through_its_stamps_only(
    client, bob, business, shop, other_shop, regular
):
    events = StampEvent.objects.filter(card__customer=regular.customer).order_by("pk")
    ids = list(events.values_list("pk", flat=True))
    StampEvent.objects.filter(pk__in=ids[::2]).update(location=shop)
    StampEvent.objects.filter(pk__in=ids[1::2]).update(location=other_shop)
    client.force_login(bob)
    pages, _, _ = walk(client, profile_url(regular), "events")
    assert [pk for page in pages for pk in page] == expected(events.filter(location=shop))
    # The count is of what the member may see, too.
    count = client.get(profile_url(regular)).context["counts"]["events"]
    assert count.number == events.filter(location=shop).count() == STAMPS // 2


def test_the_audit_trail_pages_both_ways(client, owner, business):
    now = timezone.now()
    AuditEntry.objects.bulk_create(
        AuditEntry(business=business, actor_kind=ActorKind.SYSTEM, action=f"test.{n}")
        for n in range(AUDIT_PAGE * 2 + 7)
    )
    # A tenth of them at one moment.
    AuditEntry.objects.filter(business=business, action__endswith="5").update(created_at=now)
    client.force_login(owner)
    url = reverse("dashboard:audit", kwargs={"business_slug": business.slug})
    older, _, _ = walk(client, url, "entries")
    assert [pk for page in older for pk in page] == expected(
        AuditEntry.objects.filter(business=business)
    )
    assert [len(page) for page in older] == [AUDIT_PAGE, AUDIT_PAGE, 7]
