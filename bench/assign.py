"""Number assignment benchmark: 2,000 members get one number each, then the API lists them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telecom_bench_assign \
        .venv/bin/python bench/assign.py [--members 2000 --passes 3]

What it does, in the database named by DATABASE_URL (created if missing, migrated, and emptied of
organisations on every run):

1. fills the local carrier inventory with valid French mobile numbers;
2. **pre-bought**: an organisation buys 2,000 user licences (two purchases through the licence
   service), then each of its 2,000 members is given one number through
   `numbering.services.number_assign`, one transaction per assignment, as the API and the console
   call it. Rule 2 takes a free licence each time;
3. **auto-purchase**: a second organisation with 2,000 members and no licence: each assignment
   buys its licence in the same transaction (rule 1), with its pro rata invoice;
4. prints assignments per second and queries per assignment for both;
5. lists the first organisation's numbers through the API (`GET /api/v1/numbers/`, 50 rows a
   page, token authentication, Django's test client: the whole request/response cycle minus the
   socket), every page, `--passes` times, and prints p50/p95 latency and the queries per page.

Targets on the 2-core machine: at least 300 assignments per second; a 50-row page under 50 ms at
the 95th percentile, with the same number of queries on every page. Not part of the test suite.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATE = 300
TARGET_P95_MS = 50.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=3, help="times every API page is read")
    parser.add_argument("--page-size", type=int, default=50)
    return parser.parse_args()


def setup_environment() -> None:
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/telecom_bench_assign")
    import psycopg

    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telecom.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(members: int):
    """A clean database: the catalogue, the inventory, two organisations and their members."""
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Organisation, User
    from licensing.catalogue import load_catalogue
    from licensing.models import LicenceType
    from numbering.inventory import inventory_fill

    call_command("migrate", verbosity=0)
    if not LicenceType.objects.exists():
        load_catalogue()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_organisation, numbering_inventorynumber CASCADE")
    inventory_fill(per_kind=2 * members + 100, countries=["FR"])

    import datetime as dt

    from django.utils import timezone

    standard = LicenceType.objects.get(code="user_standard")
    organisations = []
    for label in ("prebought", "autopurchase"):
        organisation = Organisation.objects.create(
            name=f"Bench {label}",
            country="FR",
            currency="EUR",
            timezone="Europe/Paris",
            plan="connect",
            billing_frequency="monthly",
            licence_policy="auto_purchase",
            billing_anchor=timezone.localdate() - dt.timedelta(days=10),
            payment_method_kind="card",
            payment_method_reference=f"pm_bench_{label}",
            default_licence_type=standard,
        )
        User.objects.bulk_create(
            User(
                organisation=organisation,
                email=f"member{i}@{label}.bench.example",
                name=f"Member {i:05d} {label}",
                role="owner" if i == 0 else "user",
                status="active",
                password="!",  # unusable: the bench signs in with a token
            )
            for i in range(members)
        )
        organisations.append(organisation)
    return organisations


def assign_all(organisation, *, prebuy: bool) -> tuple[float, float, float]:
    """Give every member of `organisation` one number; return (assignments/s, SQL queries each,
    this process's CPU milliseconds each)."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from licensing.models import LicenceType
    from licensing.services import MAX_PURCHASE_QUANTITY, licences_purchase
    from numbering.services import number_assign

    members = list(User.objects.filter(organisation=organisation).order_by("email"))
    owner = next(m for m in members if m.role == "owner")
    if prebuy:
        standard = LicenceType.objects.get(code="user_standard")
        left = len(members)
        while left:
            quantity = min(left, MAX_PURCHASE_QUANTITY)
            licences_purchase(
                organisation=organisation, licence_type=standard, quantity=quantity, actor=owner
            )
            left -= quantity
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after such a bulk change

    # Queries of one assignment, counted on the first few (they do not grow with the others).
    sample = 20
    with CaptureQueriesContext(connection) as queries:
        for member in members[:sample]:
            number_assign(
                organisation=organisation,
                actor=owner,
                country="FR",
                number_type="mobile",
                member=member,
            )
    transaction_control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
    statements = [q for q in queries if not q["sql"].startswith(transaction_control)]
    per_assignment = len(statements) / sample
    reset_queries()

    started, cpu = time.perf_counter(), time.process_time()
    for member in members[sample:]:
        number_assign(
            organisation=organisation,
            actor=owner,
            country="FR",
            number_type="mobile",
            member=member,
        )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    done = len(members) - sample
    return done / elapsed, per_assignment, cpu / done * 1000


def list_pages(organisation, *, passes: int, page_size: int) -> tuple[list[float], set[int], int]:
    """Read every page of the numbers list through the API; (latencies ms, query counts, pages)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from accounts.models import User

    owner = User.objects.get(organisation=organisation, role="owner")
    token = Token.objects.get_or_create(user=owner)[0].key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    total = organisation.numbers.count()
    pages = -(-total // page_size)
    client.get(f"/api/v1/numbers/?page_size={page_size}")  # warm up (imports, caches)
    latencies, counts = [], set()
    for _ in range(passes):
        for page in range(1, pages + 1):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(f"/api/v1/numbers/?page={page}&page_size={page_size}")
                latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:300]
            body = response.json()
            assert len(body["results"]) == min(page_size, total - (page - 1) * page_size)
            counts.add(len(queries))
    return latencies, counts, pages


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    args = parse_args()
    setup_environment()
    from numbering.models import PhoneNumber

    print(
        f"Preparing {args.members} members in two organisations ... (load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)",
        flush=True,
    )
    prebought, autopurchase = prepare(args.members)

    rate_pre, queries_pre, cpu_pre = assign_all(prebought, prebuy=True)
    print(
        f"pre-bought licences : {rate_pre:7.0f} assignments/s; per assignment "
        f"{queries_pre:.0f} SQL queries (+ BEGIN/COMMIT), {cpu_pre:.1f} ms of Python CPU",
        flush=True,
    )
    rate_auto, queries_auto, cpu_auto = assign_all(autopurchase, prebuy=False)
    print(
        f"auto-purchase       : {rate_auto:7.0f} assignments/s; per assignment "
        f"{queries_auto:.0f} SQL queries (+ BEGIN/COMMIT), {cpu_auto:.1f} ms of Python CPU "
        "(a licence and its pro rata invoice each)",
        flush=True,
    )
    for organisation in (prebought, autopurchase):
        held = PhoneNumber.objects.filter(organisation=organisation, status="assigned")
        assert held.count() == args.members, (organisation, held.count())
        assert held.values("licence").distinct().count() == args.members

    latencies, counts, pages = list_pages(prebought, passes=args.passes, page_size=args.page_size)
    p50, p95 = percentile(latencies, 0.50), percentile(latencies, 0.95)
    print(
        f"API list            : {pages} pages of {args.page_size} × {args.passes} passes: "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(latencies):.1f} ms, "
        f"mean {statistics.fmean(latencies):.1f} ms; queries per page {sorted(counts)}",
        flush=True,
    )
    ok = min(rate_pre, rate_auto) >= TARGET_RATE and p95 < TARGET_P95_MS and len(counts) == 1
    print(
        f"targets (≥ {TARGET_RATE}/s both ways, p95 < {TARGET_P95_MS:.0f} ms, constant queries): "
        f"{'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
