"""The analytics and export pages do not grow with the data: 1,000 vs 100,000 customers.

Run inside scripts/with-services.sh (a throwaway PostgreSQL), alone or from ``bench.run``:

    scripts/with-services.sh .venv/bin/python -m bench.dashboard_pages

It seeds two businesses in SQL (a small one with ``--small`` customers and a large one with
``--large`` customers, each customer with a card and, on average, ``--events-per-customer``
ledger rows spread over the last year, a reward per ten stamps), vacuums and analyses them,
then in one run:

1. times each page through Django's whole stack (test client, logged in as the owner):
   the analytics page for 30 days by day, 90 days by day and 365 days by week, a chart's
   CSV, and the export page; the median of ``--repeat`` requests after one warm-up, for the
   small and the large business in turn, and their ratio;
2. runs EXPLAIN (ANALYZE, BUFFERS) on every SQL query the 30-day analytics page makes for
   the large business and reports each one's execution time and plan's top lines;
3. writes its section of bench/RESULTS.md (between its markers; the rest is kept).
"""

import argparse
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
BEGIN = "<!-- dashboard_pages: begin -->"
END = "<!-- dashboard_pages: end -->"
OWNER = "bench-owner"
PAGES = (
    ("analytics, 30 days by day", "analytics/?days=30&by=day"),
    ("analytics, 90 days by day", "analytics/?days=90&by=day"),
    ("analytics, 365 days by week", "analytics/?days=365&by=week"),
    ("stamps chart CSV, 90 days", "analytics/stamps.csv?days=90"),
    ("export page", "export/"),
)
TARGET_MS = 300.0
TARGET_RATIO = 2.0


@dataclass
class Timing:
    page: str
    small_ms: float
    large_ms: float

    @property
    def ratio(self) -> float:
        return self.large_ms / self.small_ms if self.small_ms else float("inf")


def setup_django() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stampcard.settings")
    import django

    django.setup()


def seed(slug: str, customers: int, events_per_customer: int) -> int:
    """One business with ``customers`` customers, their cards, ledger and rewards (SQL)."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django_scopes import scopes_disabled

    from stampcard.loyalty.models import Program, ProgramStatus
    from stampcard.tenancy.models import Business, Location, Membership, Role

    events = customers * events_per_customer
    with scopes_disabled(), transaction.atomic():
        business = Business.objects.create(name=slug, slug=slug, time_zone="Asia/Bangkok")
        owner, _ = User.objects.get_or_create(username=OWNER)
        Membership.objects.create(business=business, user=owner, role=Role.OWNER)
        for n in range(4):
            user = User.objects.create(username=f"{slug}-staff-{n}")
            Membership.objects.create(business=business, user=user, role=Role.STAFF)
        for n in range(3):
            Location.objects.create(business=business, name=f"Shop {n}")
        Program.objects.create(
            business=business,
            name="Coffee card",
            status=ProgramStatus.ACTIVE,
            reward_title="Coffee",
        )
        params = {"b": business.pk, "n": customers, "e": events}
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO loyalty_customer (business_id, name, email, phone, language,
                    marketing_consent, join_channel, created_at)
                SELECT %(b)s, 'Customer ' || g, 'c' || g || '-' || %(b)s || '@example.org',
                    '', 'en', false, 'qr', now() - interval '400 days' * (%(n)s - g) / %(n)s
                FROM generate_series(1, %(n)s) g
                """,
                params,
            )
            cursor.execute(
                """
                INSERT INTO loyalty_card (business_id, program_id, customer_id, token, code,
                    stamps, lifetime_stamps, cycles_completed, stamps_on_day, version,
                    created_at, updated_at)
                SELECT c.business_id, p.id, c.id, md5(random()::text) || md5(c.id::text),
                    'B' || c.id, 0, 0, 0, 0, 0, c.created_at, c.created_at
                FROM loyalty_customer c JOIN loyalty_program p ON p.business_id = c.business_id
                WHERE c.business_id = %(b)s
                """,
                params,
            )
            cursor.execute(
                """
                WITH cards AS (
                    SELECT array_agg(id) AS ids, count(*) AS n FROM loyalty_card
                    WHERE business_id = %(b)s
                ), staff AS (
                    SELECT array_agg(user_id) AS ids FROM tenancy_membership
                    WHERE business_id = %(b)s
                ), shops AS (
                    SELECT array_agg(id) AS ids FROM tenancy_location WHERE business_id = %(b)s
                )
                INSERT INTO loyalty_stampevent (business_id, card_id, kind, delta, source,
                    reason, actor_kind, actor_user_id, location_id, balance_after, created_at)
                SELECT %(b)s, cards.ids[1 + (g %% cards.n)],
                    CASE WHEN g %% 50 = 0 THEN 'correction' ELSE 'stamp' END,
                    CASE WHEN g %% 50 = 0 THEN -1 ELSE 1 END,
                    (ARRAY['staff','kiosk','autopilot','receipt','api','admin'])[1 + g %% 6],
                    '', 'staff', staff.ids[1 + g %% 5], shops.ids[1 + g %% 4], 1,
                    -- in time order, as a ledger is written
                    now() - interval '365 days' * (%(e)s - g) / %(e)s
                FROM generate_series(1, %(e)s) g, cards, staff, shops
                """,
                params,
            )
            cursor.execute(
                """
                WITH cards AS (
                    SELECT array_agg(id) AS ids, count(*) AS n FROM loyalty_card
                    WHERE business_id = %(b)s
                )
                INSERT INTO loyalty_reward (business_id, card_id, kind, status, cycle,
                    stamps_used, created_at, settled_at)
                SELECT %(b)s, cards.ids[1 + (g %% cards.n)], 'simple',
                    CASE WHEN g %% 3 = 0 THEN 'ready' ELSE 'redeemed' END, g, 10, t,
                    CASE WHEN g %% 3 = 0 THEN NULL ELSE t + interval '3 days' END
                FROM generate_series(1, %(e)s / 10) g, cards,
                    LATERAL (SELECT now() - interval '365 days' * (%(e)s / 10 - g) / (%(e)s / 10)
                        AS t) times
                """,
                params,
            )
    return int(business.pk)


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("loyalty_customer", "loyalty_card", "loyalty_stampevent", "loyalty_reward"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def time_pages(slugs: dict[str, str], repeat: int) -> list[Timing]:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    # The test client's host; not setup_test_environment, which slows templates down.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(User.objects.get(username=OWNER))
    found: dict[tuple[str, str], float] = {}
    for size, slug in slugs.items():
        for name, path in PAGES:
            url = f"/b/{slug}/{path}"
            response = client.get(url)  # warm-up (and a check)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
            found[(size, name)] = statistics.median(samples)
            print(f"{size:>5} {name}: {found[(size, name)]:.1f} ms", flush=True)
    return [Timing(name, found[("small", name)], found[("large", name)]) for name, _ in PAGES]


def explain_page(business_id: int) -> list[tuple[float, str]]:
    """Each query of the 30-day page, EXPLAIN ANALYZE'd: (execution ms, plan's top lines)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from stampcard.loyalty.services.analytics import Grain, Period, business_analytics
    from stampcard.tenancy.models import Business

    with scopes_disabled():
        business = Business.objects.get(pk=business_id)
        period = Period.ending(
            last=timezone.now().date(), days=30, grain=Grain.DAY, time_zone=business.time_zone
        )
        with CaptureQueriesContext(connection) as captured:
            business_analytics(business=business, period=period)
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
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
            plans.append((total, "; ".join(dict.fromkeys(scans)) or lines[0].split("  (")[0]))
    return plans


def section(
    timings: list[Timing], plans: list[tuple[float, str]], args: argparse.Namespace, took: float
) -> list[str]:
    large_events = args.large * args.events_per_customer
    small_events = args.small * args.events_per_customer
    lines = [
        BEGIN,
        "## Dashboard pages: analytics and export, small vs large business",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({took:.0f} s with seeding)",
        "- Command: `scripts/with-services.sh .venv/bin/python -m bench.dashboard_pages`"
        " (also run by `make bench`)",
        f"- Small: {args.small:,} customers, {small_events:,} ledger rows; large:"
        f" {args.large:,} customers, {large_events:,} ledger rows, {large_events // 10:,}"
        " rewards; rows spread over the last year (SQL-generated), VACUUM ANALYZE'd",
        f"- Each figure: median of {args.repeat} requests through Django's whole stack (test"
        " client, the owner logged in) after one warm-up; both businesses in the same run."
        f" Targets: large ≤ {TARGET_MS:.0f} ms and ≤ {TARGET_RATIO:.0f} times small.",
        "",
        "| page | small (ms) | large (ms) | large / small | target met |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for t in timings:
        met = t.large_ms <= TARGET_MS and t.ratio <= TARGET_RATIO
        lines.append(
            f"| {t.page} | {t.small_ms:.1f} | {t.large_ms:.1f} | {t.ratio:.2f} |"
            f" {'yes' if met else '**no**'} |"
        )
    lines += [
        "",
        "EXPLAIN (ANALYZE, BUFFERS) of every query of the 30-day analytics page, large"
        " business (execution time in the server; the scans its plan uses):",
        "",
        "| # | ms | scans |",
        "| ---: | ---: | --- |",
    ]
    for number, (ms, scans) in enumerate(plans, start=1):
        lines.append(f"| {number} | {ms:.1f} | {scans} |")
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
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--no-migrate", action="store_true", help="the database is migrated")
    args = parser.parse_args(argv)

    started = time.monotonic()
    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("this bench needs PostgreSQL: run it inside scripts/with-services.sh")
    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)
    print(f"Seeding {args.small:,} and {args.large:,} customers …", flush=True)
    seed("bench-small", args.small, args.events_per_customer)
    large_id = seed("bench-large", args.large, args.events_per_customer)
    vacuum()
    timings = time_pages({"small": "bench-small", "large": "bench-large"}, args.repeat)
    plans = explain_page(large_id)
    for ms, scans in plans:
        print(f"  {ms:8.1f} ms  {scans}", flush=True)
    write_section(section(timings, plans, args, time.monotonic() - started), args.output)
    print(f"Wrote {args.output}", flush=True)


if __name__ == "__main__":
    main()
