"""Every dashboard page does not grow with the data: 1,000 vs 100,000 customers.

Run inside scripts/with-services.sh (a throwaway PostgreSQL), alone or from ``bench.run``:

    scripts/with-services.sh .venv/bin/python -m bench.dashboard_pages

It seeds two businesses in SQL (``generate_series``, no ORM per row): a small one with
``--small`` customers and a large one with ``--large``, each with three programs, four shops,
staff, devices, customers joined over ~400 days through many channels (some with a card on
two programs), ``--events-per-customer`` ledger rows per customer on average over the last
year (a few loyal customers make most visits, 2 % corrections), a reward per ten stamps
(two thirds handed over), reward and hand-issued vouchers, claim codes and audit entries;
VACUUM ANALYZE; then rolls the analytics up (``stats.rollup.roll_up``, timed: the backfill).
Then, in one run:

1. times each page of ``PAGES`` through Django's whole stack (the test client, logged in as
   the owner of both businesses): the median of ``--repeat`` requests after one warm-up,
   small and large business in turn, and their ratio;
2. captures every SQL query of each page for the large business and EXPLAIN (ANALYZE,
   BUFFERS)es them; the slowest are reported with their page and plan's scans;
3. writes its section of bench/RESULTS.md (between its markers; the rest is kept).
"""

import argparse
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
BEGIN = "<!-- dashboard_pages: begin -->"
END = "<!-- dashboard_pages: end -->"
OWNER = "bench-owner"
TARGET_MS = 300.0
TARGET_RATIO = 2.0


@dataclass(frozen=True)
class Seeded:
    """What a page's URL needs of one business (the same rank in both)."""

    slug: str
    business_id: int
    program_id: int
    customer_id: int
    card_code: str
    voucher_id: int
    location_id: int


# (name, path after /b/<slug>/ built from what was seeded). A page added to the dashboard
# gets a line here.
PAGES: tuple[tuple[str, Callable[[Seeded], str]], ...] = (
    ("home (all businesses)", lambda s: "/"),
    ("business overview", lambda s: ""),
    ("business overview, card search", lambda s: "?q=Customer+4"),
    ("customers list", lambda s: "customers/"),
    ("customers, search by name", lambda s: "customers/?q=Customer+77"),
    ("customers, search by e-mail", lambda s: "customers/?q=c77-"),
    # The seeded phone of customer 3, typed the local way (trunk 0, spaces).
    ("customers, search by phone", lambda s: f"customers/?q=081+{s.business_id}00+0003"),
    ("customers, visited within 7 days", lambda s: "customers/?last_visit=7"),
    ("customers, not for 180 days", lambda s: "customers/?last_visit=-180"),
    ("customers, 5 stamps or more", lambda s: "customers/?min_stamps=5"),
    ("customers, rewards waiting", lambda s: "customers/?rewards=1"),
    ("customers, one program", lambda s: f"customers/?program={s.program_id}"),
    ("customers, one shop", lambda s: f"customers/?location={s.location_id}"),
    ("customers, joined by poster", lambda s: "customers/?channel=poster"),
    ("customer profile (busiest)", lambda s: f"customers/{s.customer_id}/"),
    ("card page (busiest)", lambda s: f"cards/{s.card_code}/"),
    ("program", lambda s: f"programs/{s.program_id}/"),
    ("program designer", lambda s: f"programs/{s.program_id}/edit/"),
    ("print page", lambda s: f"programs/{s.program_id}/print/"),
    ("vouchers list", lambda s: "vouchers/"),
    ("vouchers, redeemed", lambda s: "vouchers/?status=redeemed"),
    ("voucher page", lambda s: f"vouchers/{s.voucher_id}/"),
    ("Issue Voucher form", lambda s: "vouchers/issue/"),
    ("Issue Voucher, customer search", lambda s: "vouchers/issue/customers/?q=Customer+77"),
    ("analytics, 7 days by day", lambda s: "analytics/?days=7&by=day"),
    ("analytics, 30 days by day", lambda s: "analytics/?days=30&by=day"),
    ("analytics, 30 days by week", lambda s: "analytics/?days=30&by=week"),
    ("analytics, 90 days by day", lambda s: "analytics/?days=90&by=day"),
    ("analytics, 90 days by week", lambda s: "analytics/?days=90&by=week"),
    ("analytics, 365 days by week", lambda s: "analytics/?days=365&by=week"),
    ("stamps chart CSV, 90 days", lambda s: "analytics/stamps.csv?days=90"),
    ("frequency chart CSV, 365 days", lambda s: "analytics/frequency.csv?days=365"),
    ("claim codes", lambda s: "claims/"),
    ("receipt keys", lambda s: "receipt-keys/"),
    ("devices", lambda s: "devices/"),
    ("shops", lambda s: "locations/"),
    ("shop", lambda s: f"locations/{s.location_id}/"),
    ("audit trail", lambda s: "audit/"),
    ("audit trail, 5,000 entries back", lambda s: f"audit/?before={audit_entry_back(s, 5000)}"),
    ("export page", lambda s: "export/"),
    ("import page", lambda s: "import/"),
    ("customers CSV import page", lambda s: "customers/import/"),
    ("stamp correction (busiest)", lambda s: f"customers/{s.customer_id}/correct/"),
    ("erase customer (busiest)", lambda s: f"customers/{s.customer_id}/erase/"),
    ("void voucher", lambda s: f"vouchers/{s.voucher_id}/void/"),
    ("new program", lambda s: "programs/new/"),
    ("team", lambda s: "team/"),
    ("staff scanner", lambda s: "scanner/"),
)


def setup_django() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stampcard.settings")
    import django

    django.setup()


def insert_select(
    model: type, given: dict[str, str], source: str, params: Mapping[str, Any]
) -> None:
    """``INSERT INTO model SELECT … FROM source``: ``given`` maps columns to SQL; every other
    column gets its field's default, so a field added to the model later needs no edit here."""
    from django.db import connection

    columns, values = [], []
    for field in model._meta.concrete_fields:  # type: ignore[attr-defined]
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in given:
            values.append(given[field.column])
            continue
        default = field.get_db_prep_save(field.get_default(), connection)
        if default is None and not field.null:
            raise SystemExit(f"{model.__name__}.{field.name}: no value for the bench seed")
        key = f"default_{field.column}"
        params = {**params, key: default}
        values.append(f"%({key})s")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)})"  # type: ignore[attr-defined]  # noqa: S608
            f" SELECT {', '.join(values)} FROM {source}",
            params,
        )


def analyze(tables: list[str]) -> None:
    """Statistics of the rows just written (in this transaction), so the next statements
    are planned for them and not for the empty tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


def seed(slug: str, customers: int, events_per_customer: int) -> Seeded:
    """One business: its customers, cards, ledger, rewards, vouchers, codes and audit (SQL)."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django_scopes import scopes_disabled

    from stampcard.audit.models import AuditEntry
    from stampcard.loyalty.card_codes import new_card_code
    from stampcard.loyalty.models import Card, Customer, Program, Reward, StampEvent
    from stampcard.tenancy.models import Business, Device, Location, Membership, Role
    from stampcard.vouchers.models import ClaimBatch, ClaimCode, Voucher

    events = customers * events_per_customer
    with scopes_disabled(), transaction.atomic():
        business = Business.objects.create(name=slug, slug=slug, time_zone="Asia/Bangkok")
        owner, _ = User.objects.get_or_create(username=OWNER)
        Membership.objects.create(business=business, user=owner, role=Role.OWNER)
        for n in range(5):
            user = User.objects.create(username=f"{slug}-staff-{n}", first_name=f"Staff {n}")
            Membership.objects.create(business=business, user=user, role=Role.STAFF)
        shops = [Location.objects.create(business=business, name=f"Shop {n}") for n in range(4)]
        for n, kind in enumerate(("kiosk", "autopilot", "scanner")):
            Device.objects.create(
                business=business,
                name=f"{kind} {n}",
                kind=kind,
                location=shops[n],
                token_hash=f"{slug}-{n}".ljust(64, "0"),
            )
        programs = [
            Program.objects.create(
                business=business,
                name=name,
                status="active",
                reward_title=reward,
                reward_kind=kind,
            )
            for name, reward, kind in (
                ("Coffee card", "Coffee", "simple"),
                ("Lunch card", "Lunch", "smart_voucher"),
                ("Cake card", "Cake", "simple"),
            )
        ]
        batch = ClaimBatch.objects.create(business=business, program=programs[0], label="Bags")
        params = {
            "b": business.pk,
            "n": customers,
            "e": events,
            "batch": batch.pk,
            "p0": programs[0].pk,
            "p1": programs[1].pk,
            "p2": programs[2].pk,
        }
        channels = (
            "(ARRAY['qr','table_tent','poster','window_sticker','counter_card',"
            "'receipt','flyer','website','social','staff','kiosk','import'])"
        )
        # Customers over ~400 days, newest last; every third with a phone, one in seven
        # consenting to marketing, from a dozen channels.
        insert_select(
            Customer,
            {
                "business_id": "%(b)s",
                "name": "'Customer ' || g",
                "email": "'c' || g || '-' || %(b)s || '@example.org'",
                "phone": "CASE WHEN g %% 3 = 0"
                " THEN '+6681' || lpad((g + %(b)s * 1000000)::text, 7, '0') ELSE '' END",
                "language": "(ARRAY['en','th','en','ru'])[1 + g %% 4]",
                "marketing_consent": "g %% 7 = 0",
                "join_channel": f"{channels}[1 + (g * 7) %% 12]",
                "created_at": "now() - interval '400 days' * (%(n)s - g) / %(n)s",
            },
            "generate_series(1, %(n)s) g",
            params,
        )
        # A card on one program (60 %% coffee, 30 %% lunch, 10 %% cake), one in five on two.
        card_columns = {
            "business_id": "c.business_id",
            "customer_id": "c.id",
            "token": "md5(random()::text) || md5(c.id::text || 'x' || p.n)",
            "code": "'B' || c.id || 'P' || p.n",
            "stamps": "0",
            "lifetime_stamps": "0",
            "cycles_completed": "0",
            "stamps_on_day": "0",
            "version": "0",
            "created_at": "c.created_at",
            "updated_at": "c.created_at",
            "program_id": "CASE p.n WHEN 0 THEN %(p0)s WHEN 1 THEN %(p1)s ELSE %(p2)s END",
        }
        insert_select(
            Card,
            card_columns,
            """loyalty_customer c, LATERAL (SELECT CASE
            WHEN c.id %% 10 < 6 THEN 0 WHEN c.id %% 10 < 9 THEN 1 ELSE 2 END AS n
            UNION SELECT 1 WHERE c.id %% 5 = 0) p WHERE c.business_id = %(b)s""",
            params,
        )
        # The ledger in time order over the last year. Half the rows go to one card in
        # twenty (the regulars), the other half to any card. Kiosk and Autopilot rows carry
        # their device, not a person.
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.42)")
        insert_select(
            StampEvent,
            {
                "business_id": "%(b)s",
                "card_id": "src.card_id",
                "kind": "CASE WHEN g %% 50 = 0 THEN 'correction' ELSE 'stamp' END",
                "delta": "CASE WHEN g %% 50 = 0 THEN -1 WHEN g %% 9 = 0 THEN 2 ELSE 1 END",
                "source": "src.s",
                "reason": "CASE WHEN g %% 50 = 0 THEN 'undo' ELSE '' END",
                "actor_kind": "CASE WHEN src.s IN ('kiosk', 'autopilot')"
                " THEN 'device' ELSE 'staff' END",
                "actor_user_id": "CASE WHEN src.s IN ('kiosk', 'autopilot', 'receipt', 'api')"
                " THEN NULL ELSE staff.ids[1 + g %% 5] END",
                "location_id": "CASE WHEN g %% 11 = 0 THEN NULL ELSE shops.ids[1 + g %% 4] END",
                "balance_after": "1",
                "created_at": "now() - interval '365 days' * (%(e)s - g) / %(e)s",
            },
            """generate_series(1, %(e)s) g
            CROSS JOIN (SELECT array_agg(id ORDER BY random()) AS ids, count(*) AS n
                FROM loyalty_card WHERE business_id = %(b)s) cards
            CROSS JOIN (SELECT array_agg(user_id ORDER BY id) AS ids FROM tenancy_membership
                WHERE business_id = %(b)s AND role = 'staff') staff
            CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM tenancy_location
                WHERE business_id = %(b)s) shops
            CROSS JOIN LATERAL (SELECT (ARRAY['staff','staff','staff','kiosk','autopilot',
                'receipt','api','admin'])[1 + (g * 13) %% 8] AS s,
                cards.ids[1 + floor(cards.n * CASE WHEN random() < 0.5
                    THEN 0.05 * random() ELSE random() END)::int] AS card_id) src
            ORDER BY g""",
            params,
        )
        analyze(["loyalty_customer", "loyalty_card", "loyalty_stampevent"])
        # A reward each time a card's stamps first reach another ten (its running sum of
        # the ledger, corrections included, past its highest so far), so no card holds
        # more than its goal; two thirds handed over.
        insert_select(
            Reward,
            {
                "business_id": "%(b)s",
                "card_id": "r.card_id",
                "kind": "'simple'",
                "status": "CASE WHEN r.k %% 3 = 0 THEN 'ready' ELSE 'redeemed' END",
                "cycle": "r.k",
                "stamps_used": "10",
                "created_at": "r.t",
                "settled_at": "CASE WHEN r.k %% 3 = 0 THEN NULL"
                " ELSE least(r.t + interval '3 days', now()) END",
                "milestone_id": "NULL",
            },
            """(SELECT card_id, t, k FROM (SELECT card_id, t, floor(m / 10)::int AS k,
                floor(coalesce(lag(m) OVER (PARTITION BY card_id ORDER BY id), 0) / 10)::int
                AS reached FROM (SELECT card_id, id, t, max(s) OVER (PARTITION BY card_id
                ORDER BY id) AS m FROM (SELECT card_id, id, created_at AS t, sum(delta)
                OVER (PARTITION BY card_id ORDER BY id) AS s FROM loyalty_stampevent
                WHERE business_id = %(b)s) x) y) z WHERE k > reached) r ORDER BY r.t""",
            params,
        )
        analyze(["loyalty_reward"])
        # Vouchers: one per reward of the lunch card, and one hand-issued per 100 customers.
        voucher = {
            "business_id": "%(b)s",
            "token": "md5(random()::text) || md5(v.k::text)",
            "title": "v.title",
            "redemption_method": "'staff_scan'",
            "valid_from": "v.t",
            "status": "CASE WHEN v.k %% 2 = 0 THEN 'redeemed' ELSE 'active' END",
            "redeemed_at": "CASE WHEN v.k %% 2 = 0 THEN least(v.t + interval '2 days', now()) END",
            "origin": "v.origin",
            "created_at": "v.t",
            "card_id": "v.card_id",
            "program_id": "v.program_id",
            "reward_id": "v.reward_id",
            "redeemed_by_kind": "CASE WHEN v.k %% 2 = 0 THEN 'staff' ELSE '' END",
        }
        insert_select(
            Voucher,
            voucher,
            """(SELECT r.id AS k, 'Lunch' AS title, r.created_at AS t,
            'goal' AS origin, r.card_id, c.program_id, r.id AS reward_id FROM loyalty_reward r
            JOIN loyalty_card c ON c.id = r.card_id WHERE r.business_id = %(b)s
            AND c.program_id = %(p1)s) v ORDER BY v.t""",
            params,
        )
        insert_select(
            Voucher,
            voucher,
            """(SELECT g AS k, 'Gift ' || g AS title,
            now() - interval '365 days' * g / (%(n)s / 100 + 1) AS t, 'manual' AS origin,
            NULL::bigint AS card_id, NULL::bigint AS program_id, NULL::bigint AS reward_id
            FROM generate_series(1, %(n)s / 100 + 1) g) v ORDER BY v.t""",
            params,
        )
        # Claim codes (one per ten customers, a third claimed) and an audit entry per customer.
        insert_select(
            ClaimCode,
            {
                "business_id": "%(b)s",
                "batch_id": "%(batch)s",
                "code": "'K' || %(b)s || 'X' || g",
                "claimed_at": "CASE WHEN g %% 3 = 0 THEN now() - interval '1 day' * (g %% 300) END",
            },
            "generate_series(1, %(n)s / 10 + 1) g",
            params,
        )
        insert_select(
            AuditEntry,
            {
                "business_id": "%(b)s",
                "action": "'customer.joined'",
                "actor_kind": "'staff'",
                "target_type": "'customer'",
                "target_id": "g::text",
                "created_at": "now() - interval '365 days' * (%(n)s - g) / %(n)s",
            },
            "generate_series(1, %(n)s) g",
            params,
        )
        with connection.cursor() as cursor:
            # The cards' counters from their ledger, as the services keep them.
            cursor.execute(
                """UPDATE loyalty_card c SET lifetime_stamps = l.total,
                    stamps = greatest(l.total - 10 * coalesce(r.cycles, 0), 0),
                    cycles_completed = coalesce(r.cycles, 0), last_stamp_at = l.last
                FROM (SELECT card_id, sum(delta) AS total, max(created_at) AS last
                    FROM loyalty_stampevent WHERE business_id = %(b)s GROUP BY card_id) l
                LEFT JOIN (SELECT card_id, count(*) AS cycles FROM loyalty_reward
                    WHERE business_id = %(b)s GROUP BY card_id) r ON r.card_id = l.card_id
                WHERE c.id = l.card_id""",
                params,
            )
            # The busiest card, and a voucher in the middle of the list.
            cursor.execute(
                """SELECT c.id, c.code, c.customer_id FROM loyalty_card c
                WHERE c.business_id = %(b)s ORDER BY c.lifetime_stamps DESC, c.id LIMIT 1""",
                params,
            )
            card_id, _code, customer_id = cursor.fetchone()
            # The seeded codes are not valid card codes; the busiest card gets a real one.
            code = new_card_code()
            cursor.execute("UPDATE loyalty_card SET code = %s WHERE id = %s", [code, card_id])
            cursor.execute(
                "SELECT id FROM vouchers_voucher WHERE business_id = %(b)s ORDER BY id"
                " OFFSET (SELECT count(*) / 2 FROM vouchers_voucher WHERE business_id = %(b)s)"
                " LIMIT 1",
                params,
            )
            (voucher_id,) = cursor.fetchone()
    return Seeded(
        slug=slug,
        business_id=int(business.pk),
        program_id=int(programs[0].pk),
        customer_id=int(customer_id),
        card_code=str(code),
        voucher_id=int(voucher_id),
        location_id=int(shops[0].pk),
    )


def seeded_before(slug: str) -> Seeded | None:
    """What an earlier run seeded for ``slug`` (``None``: nothing)."""
    from django.db import connection
    from django_scopes import scopes_disabled

    from stampcard.loyalty.models import Program
    from stampcard.tenancy.models import Business, Location

    with scopes_disabled():
        business = Business.objects.filter(slug=slug).first()
        if business is None:
            return None
        program = Program.objects.filter(business=business).order_by("pk").first()
        location = Location.objects.filter(business=business).order_by("pk").first()
        if program is None or location is None:
            return None
    params = {"b": business.pk}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.code, c.customer_id FROM loyalty_card c
            WHERE c.business_id = %(b)s ORDER BY c.lifetime_stamps DESC, c.id LIMIT 1""",
            params,
        )
        code, customer_id = cursor.fetchone()
        cursor.execute(
            "SELECT id FROM vouchers_voucher WHERE business_id = %(b)s ORDER BY id"
            " OFFSET (SELECT count(*) / 2 FROM vouchers_voucher WHERE business_id = %(b)s)"
            " LIMIT 1",
            params,
        )
        (voucher_id,) = cursor.fetchone()
    return Seeded(
        slug=slug,
        business_id=int(business.pk),
        program_id=int(program.pk),
        customer_id=int(customer_id),
        card_code=str(code),
        voucher_id=int(voucher_id),
        location_id=int(location.pk),
    )


TAIL_STAMPS = 50


def stamp_tail(seeded: Seeded, stamps: int) -> None:
    """Stamps given since the last rollup, through the stamp service: the live tail."""
    from django.contrib.auth.models import User
    from django_scopes import scopes_disabled

    from stampcard.loyalty.models import Card, StampSource
    from stampcard.loyalty.services import add_stamps
    from stampcard.tenancy.actors import Actor
    from stampcard.tenancy.models import Business, Membership

    with scopes_disabled():
        business = Business.objects.get(pk=seeded.business_id)
        owner = Membership.objects.get(business=business, user=User.objects.get(username=OWNER))
        actor = Actor.for_member(owner)
        cards = list(
            Card.objects.filter(business=business)
            .order_by("-pk")
            .values_list("pk", flat=True)[:stamps]
        )
        for card_id in cards:
            add_stamps(business=business, actor=actor, source=StampSource.STAFF, card_id=card_id)


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "loyalty_customer",
            "loyalty_card",
            "loyalty_stampevent",
            "loyalty_reward",
            "vouchers_voucher",
            "vouchers_claimcode",
            "audit_auditentry",
            "stats_stampday",
            "stats_daycount",
            "stats_visitday",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")


@dataclass
class Timing:
    page: str
    small_ms: float
    large_ms: float

    @property
    def ratio(self) -> float:
        return self.large_ms / self.small_ms if self.small_ms else float("inf")


def audit_entry_back(seeded: Seeded, back: int) -> int:
    """The id of the audit entry ``back`` entries from the newest: "Older" links from there."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM audit_auditentry WHERE business_id = %s"
            " ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
            [seeded.business_id, back],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def url_of(seeded: Seeded, path: Callable[[Seeded], str]) -> str:
    tail = path(seeded)
    return tail if tail.startswith("/") else f"/b/{seeded.slug}/{tail}"


def logged_in_client() -> Any:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    # The test client's host; not setup_test_environment, which slows templates down.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(User.objects.get(username=OWNER))
    return client


def chosen(only: list[str] | None) -> tuple[tuple[str, Callable[[Seeded], str]], ...]:
    """The pages whose name contains one of ``only`` (every page when empty)."""
    if not only:
        return PAGES
    return tuple(page for page in PAGES if any(part in page[0] for part in only))


def time_pages(
    businesses: dict[str, Seeded], repeat: int, only: list[str] | None = None
) -> list[Timing]:
    client = logged_in_client()
    found: dict[tuple[str, str], float] = {}
    for name, path in chosen(only):
        for size, seeded in businesses.items():
            url = url_of(seeded, path)
            response = client.get(url)  # warm-up (and a check)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
            found[(size, name)] = statistics.median(samples)
        print(
            f"{name}: {found[('small', name)]:.1f} ms / {found[('large', name)]:.1f} ms",
            flush=True,
        )
    return [
        Timing(name, found[("small", name)], found[("large", name)]) for name, _ in chosen(only)
    ]


@dataclass
class Plan:
    page: str
    ms: float
    sql: str
    scans: str


def explain_pages(seeded: Seeded, most: int, only: list[str] | None = None) -> list[Plan]:
    """Every SELECT of every page for ``seeded``, EXPLAIN ANALYZE'd; the ``most`` slowest."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = logged_in_client()
    plans = []
    for name, path in chosen(only):
        with CaptureQueriesContext(connection) as captured:
            client.get(url_of(seeded, path))
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                lines = [row[0] for row in cursor.fetchall()]
            total = next(
                float(line.split(":")[1].split()[0])
                for line in lines
                if line.startswith("Execution Time")
            )
            scans = [
                line.strip().lstrip("-> ").split("  (")[0]
                for line in lines
                if "Scan" in line and "(" in line
            ]
            short = " ".join(sql.split())
            short = short if len(short) <= 160 else short[:157] + "…"
            plans.append(Plan(name, total, short, "; ".join(dict.fromkeys(scans))))
    return sorted(plans, key=lambda plan: -plan.ms)[:most]


def machine() -> str:
    import os
    import platform

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"CPUs: {os.cpu_count()}; PostgreSQL {version.split()[0]} (loopback TCP,"
        f" scripts/with-services.sh); Python {platform.python_version()};"
        f" load average at the end: {load} (the machine is shared with other work)"
    )


def section(
    timings: list[Timing],
    plans: list[Plan],
    args: argparse.Namespace,
    took: float,
    rollup_s: float,
    where: str,
) -> list[str]:
    large_events = args.large * args.events_per_customer
    small_events = args.small * args.events_per_customer
    met = [t for t in timings if t.large_ms <= TARGET_MS and t.ratio <= TARGET_RATIO]
    lines = [
        BEGIN,
        "## Dashboard pages: every page, small vs large business (`bench.dashboard_pages`)",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({took:.0f} s with seeding); {where}",
        "- Command: `scripts/with-services.sh .venv/bin/python -m bench.dashboard_pages`"
        " (also run by `make bench`)",
        f"- Small: {args.small:,} customers, {small_events:,} ledger rows; large:"
        f" {args.large:,} customers, {large_events:,} ledger rows; three programs, four"
        " shops, a dozen join channels, a year of ledger with a few loyal customers making"
        " most visits, a reward per ten stamps, vouchers, claim codes, an audit entry per"
        " customer (SQL-generated), VACUUM ANALYZE'd",
        f"- Analytics rollups backfilled for both businesses by the first `roll_up()`:"
        f" {rollup_s:.1f} s; then {TAIL_STAMPS} stamps per business through `add_stamps`,"
        " not rolled up: the pages read the rollups plus that live tail from the ledger",
        f"- Each figure: median of {args.repeat} requests through Django's whole stack (the"
        " test client in this process, the owner logged in, no network) after one warm-up;"
        " both businesses in the same run, page by page."
        f" Targets: large ≤ {TARGET_MS:.0f} ms and ≤ {TARGET_RATIO:.0f} times small."
        f" **{len(met)} of {len(timings)} pages meet both.**",
        "",
        "| page | small (ms) | large (ms) | large / small | target met |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for t in timings:
        ok = t.large_ms <= TARGET_MS and t.ratio <= TARGET_RATIO
        lines.append(
            f"| {t.page} | {t.small_ms:.1f} | {t.large_ms:.1f} | {t.ratio:.2f} |"
            f" {'yes' if ok else '**no**'} |"
        )
    lines += [
        "",
        f"The {len(plans)} slowest SQL queries of all these pages for the large business,"
        " EXPLAIN (ANALYZE, BUFFERS)'d (execution time in the server; the scans of the plan):",
        "",
        "| page | ms | query | scans |",
        "| --- | ---: | --- | --- |",
    ]
    for plan in plans:
        query = plan.sql.replace("|", "\\|")
        lines.append(f"| {plan.page} | {plan.ms:.1f} | `{query}` | {plan.scans} |")
    lines += ["", END]
    return lines


def write_section(lines: list[str], output: Path) -> None:
    text = output.read_text() if output.exists() else "# Benchmark results\n"
    block = "\n".join(lines)
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    output.write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--events-per-customer", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--explain", type=int, default=12, help="the slowest queries shown")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--no-migrate", action="store_true", help="the database is migrated")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the businesses an earlier run seeded in this database (DATABASE_URL of a"
        " server kept running) instead of seeding them again; rolls up what is new",
    )
    parser.add_argument(
        "--rebuild-rollups", action="store_true", help="with --reuse: roll everything up again"
    )
    parser.add_argument(
        "--page",
        action="append",
        dest="pages",
        help="only the pages whose name contains this (repeatable); nothing is written",
    )
    args = parser.parse_args(argv)

    started = time.monotonic()
    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from stampcard.stats.rollup import rebuild, roll_up

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("this bench needs PostgreSQL: run it inside scripts/with-services.sh")
    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)
    small_before, large_before = seeded_before("bench-small"), seeded_before("bench-large")
    if args.reuse and small_before is not None and large_before is not None:
        small, large = small_before, large_before
        print("Reusing the seeded businesses", flush=True)
    else:
        print(f"Seeding {args.small:,} and {args.large:,} customers …", flush=True)
        small = seed("bench-small", args.small, args.events_per_customer)
        large = seed("bench-large", args.large, args.events_per_customer)
        vacuum()
    rolling = time.perf_counter()
    # As the periodic job would once the lag has passed (the seed's last rows are "now").
    (rebuild if args.rebuild_rollups else roll_up)(until=timezone.now())
    rollup_s = time.perf_counter() - rolling
    print(f"Rolled up in {rollup_s:.1f} s", flush=True)
    vacuum()
    for seeded in (small, large):
        stamp_tail(seeded, TAIL_STAMPS)
    timings = time_pages({"small": small, "large": large}, args.repeat, args.pages)
    plans = explain_pages(large, args.explain, args.pages)
    for plan in plans:
        print(f"  {plan.ms:8.1f} ms  {plan.page}: {plan.scans}", flush=True)
    if args.pages:
        return
    write_section(
        section(timings, plans, args, time.monotonic() - started, rollup_s, machine()),
        args.output,
    )
    print(f"Wrote {args.output}", flush=True)


if __name__ == "__main__":
    main()
