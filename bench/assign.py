"""Number assignment benchmark: 2,000 members get one number each, then the API lists them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telecom_bench_assign \
        .venv/bin/python bench/assign.py [--members 2000 --passes 3]

What it does, in the database named by DATABASE_URL (created if missing, migrated, and emptied of
organisations on every run):

1. fills the local carrier inventory with valid French mobile numbers;
2. **pre-bought**: an organisation buys 2,000 user licences (two purchases through the licence
   service), then its 2,000 members are each given one number through
   `numbering.services.numbers_assign`, in batches of `--batch` (default: all 2,000 in one
   transaction, as an onboarding would). Rule 2 takes a free licence for each;
3. **auto-purchase**: a second organisation with 2,000 members and no licence: the batch buys
   every licence on the way (rule 1), on one pro rata invoice;
4. **one at a time**: `--single` more members of each kind of organisation get their number
   through `number_assign`, one transaction each, as one API call or console confirmation does:
   the interactive path, for its latency;
5. prints assignments per second and SQL statements for each;
6. lists the first organisation's numbers through the API (`GET /api/v1/numbers/`, 50 rows a
   page, token authentication, Django's test client: the whole request/response cycle minus the
   socket), every page, `--passes` times, and prints p50/p95 latency and the queries per page.

Targets on the 2-core machine: at least 300 assignments per second; a 50-row page under 50 ms at
the 95th percentile, with the same number of queries on every page. Not part of the test suite.
"""

import argparse
import os
import statistics
import time

from _django import bench_organisation, django_on_database

TARGET_RATE = 300
TARGET_P95_MS = 50.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=3, help="times every API page is read")
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--batch", type=int, default=0, help="numbers per batch (0: all)")
    parser.add_argument(
        "--single", type=int, default=200, help="members given a number one call at a time"
    )
    return parser.parse_args()


def setup_environment() -> None:
    django_on_database("postgres://postgres@127.0.0.1:5432/telecom_bench_assign")


def prepare(members: int, single: int):
    """A clean database: the catalogue, the inventory, two organisations and their members
    (`single` more each, for the one-at-a-time figures)."""
    from django.core.management import call_command
    from django.db import connection

    from licensing.catalogue import load_catalogue
    from licensing.models import LicenceType
    from numbering.inventory import inventory_fill

    call_command("migrate", verbosity=0)
    if not LicenceType.objects.exists():
        load_catalogue()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_organisation, numbering_inventorynumber CASCADE")
    inventory_fill(per_kind=2 * (members + single) + 100, countries=["FR"])

    organisations = []
    for label in ("prebought", "autopurchase"):
        organisation = bench_organisation(
            f"Bench {label}", slug=f"{label}.bench", members=members + single
        )
        organisations.append(organisation)
    return organisations


def assign_all(organisation, *, members: int, single: int, batch: int, prebuy: bool) -> dict:
    """Give `members` members of `organisation` one number each in batches, then `single` more
    one call at a time. Returns the rates (assignments/s) and statements of both."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from licensing.models import LicenceType
    from licensing.services import licences_purchase
    from numbering.services import NumberRequest, number_assign, numbers_assign
    from telecom.quantities import MAX_QUANTITY

    everyone = list(User.objects.filter(organisation=organisation).order_by("email"))
    owner = next(m for m in everyone if m.role == "owner")
    batched, one_by_one = everyone[:members], everyone[members:]
    if prebuy:
        standard = LicenceType.objects.get(code="user_standard")
        left = len(everyone)
        while left:
            quantity = min(left, MAX_QUANTITY)
            licences_purchase(
                organisation=organisation, licence_type=standard, quantity=quantity, actor=owner
            )
            left -= quantity
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after such a bulk change

    transaction_control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
    size = batch or len(batched)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        for first in range(0, len(batched), size):
            numbers_assign(
                organisation=organisation,
                actor=owner,
                requests=[
                    NumberRequest(country="FR", number_type="mobile", member=member)
                    for member in batched[first : first + size]
                ],
            )
    batch_rate = len(batched) / (time.perf_counter() - started)
    batch_statements = sum(not q["sql"].startswith(transaction_control) for q in queries)

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        for member in one_by_one:
            number_assign(
                organisation=organisation,
                actor=owner,
                country="FR",
                number_type="mobile",
                member=member,
            )
    single_seconds = time.perf_counter() - started
    single_statements = sum(not q["sql"].startswith(transaction_control) for q in queries)
    return {
        "batch_rate": batch_rate,
        "batches": -(-len(batched) // size),
        "batch_statements": batch_statements / -(-len(batched) // size),
        "single_rate": len(one_by_one) / single_seconds if one_by_one else 0.0,
        "single_ms": single_seconds / len(one_by_one) * 1000 if one_by_one else 0.0,
        "single_statements": single_statements / len(one_by_one) if one_by_one else 0.0,
    }


def list_pages(organisation, *, passes: int, page_size: int) -> tuple[list[float], set[int], int]:
    """Read every page of the numbers list through the API; (latencies ms, query counts, pages)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.api_tokens import api_token_create
    from accounts.models import User

    owner = User.objects.get(organisation=organisation, role="owner")
    token = api_token_create(user=owner)[1]
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
    prebought, autopurchase = prepare(args.members, args.single)

    rates = []
    for organisation, label, prebuy in (
        (prebought, "pre-bought licences", True),
        (autopurchase, "auto-purchase      ", False),
    ):
        figures = assign_all(
            organisation,
            members=args.members,
            single=args.single,
            batch=args.batch,
            prebuy=prebuy,
        )
        rates.append(figures["batch_rate"])
        print(
            f"{label}: {figures['batch_rate']:7.0f} assignments/s in batches "
            f"({args.members} numbers in {figures['batches']} batch(es), "
            f"{figures['batch_statements']:.0f} SQL statements each); one at a time "
            f"{figures['single_rate']:.0f}/s ({figures['single_ms']:.1f} ms and "
            f"{figures['single_statements']:.0f} statements each)",
            flush=True,
        )
    for organisation in (prebought, autopurchase):
        held = PhoneNumber.objects.filter(organisation=organisation, status="assigned")
        assert held.count() == args.members + args.single, (organisation, held.count())
        assert held.values("licence").distinct().count() == args.members + args.single

    latencies, counts, pages = list_pages(prebought, passes=args.passes, page_size=args.page_size)
    p50, p95 = percentile(latencies, 0.50), percentile(latencies, 0.95)
    print(
        f"API list            : {pages} pages of {args.page_size} × {args.passes} passes: "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(latencies):.1f} ms, "
        f"mean {statistics.fmean(latencies):.1f} ms; queries per page {sorted(counts)}",
        flush=True,
    )
    ok = min(rates) >= TARGET_RATE and p95 < TARGET_P95_MS and len(counts) == 1
    print(
        f"targets (≥ {TARGET_RATE}/s both ways in batches, p95 < {TARGET_P95_MS:.0f} ms, "
        "constant queries): "
        f"{'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
