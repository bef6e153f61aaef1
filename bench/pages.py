"""Pages of a large organisation: every console list, the dashboard, every API list (first and
last page) and the webapp, timed one request at a time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telecom_bench_pages \
        .venv/bin/python bench/pages.py [--members 20000 --others 300 --repeat 15 --rebuild]

The data set is built once, through the product's own services, in the database DATABASE_URL
names (created and migrated if missing; `--rebuild` empties it first; a later run reuses it):

- one organisation ("Bench Large") with `--members` members, as many user licences bought in
  `--invoices` purchases (so as many pro rata invoices), one mobile number each assigned in
  batches (`numbers_assign`), `--porting` porting requests and `--usage` usage records;
- `--others` other organisations of 20 members each, built the same way, so every list has
  other tenants' rows to skip;
- the audit trail those services write.

Each page is requested through Django's test client (the whole request/response cycle minus
the socket) as the large organisation's owner (console, API with a token) or one of its members
(webapp): once to warm up, then `--repeat` times. For each it prints p50 and p95 wall time, the
queries per request (and whether they stay the same from the first page to the last), the
COUNT queries among them, the response size and the CPU time of this process per request (the
database's own CPU is not in it).

Target (issue "Large organisations stay fast"): every page p95 <= 50 ms and <= 300 KB, with a
query count that does not grow with the page. Not part of the test suite.
"""

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass

from _django import bench_organisation, django_on_database

TARGET_P95_MS = 50.0
TARGET_BYTES = 300 * 1024
LARGE = "Bench Large"
SMALL_MEMBERS = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--invoices", type=int, default=2_000)
    parser.add_argument("--porting", type=int, default=300)
    parser.add_argument("--usage", type=int, default=5_000)
    parser.add_argument("--others", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=15, help="timed requests per page")
    parser.add_argument("--rebuild", action="store_true", help="build the data set again")
    parser.add_argument("--only", default="", help="time only the pages whose label has this")
    return parser.parse_args()


def setup_environment() -> None:
    django_on_database(
        "postgres://postgres@127.0.0.1:5432/telecom_bench_pages", ALLOWED_HOSTS="testserver"
    )


# --- the data set ---------------------------------------------------------------------------


def build(args: argparse.Namespace) -> None:
    """The whole data set, through the services (minutes at 20,000 members: done once)."""
    from django.db import connection

    from licensing.catalogue import load_catalogue
    from licensing.models import LicenceType
    from numbering.inventory import inventory_fill

    if not LicenceType.objects.exists():
        load_catalogue()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_organisation, numbering_inventorynumber CASCADE")
    total_members = args.members + args.others * SMALL_MEMBERS
    inventory_fill(per_kind=total_members + args.porting + 500, countries=["FR"])
    started = time.perf_counter()
    _organisation(LARGE, args.members, purchases=args.invoices)
    print(f"  large organisation built in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    for i in range(args.others):
        _organisation(f"Bench Other {i:04d}", SMALL_MEMBERS, purchases=2)
    print(f"  {args.others} other organisations in {time.perf_counter() - started:.0f} s")
    large = _large()
    _porting(large, args.porting)
    _usage(large, args.usage)
    _webapp_activity(large)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after such a bulk change


def _organisation(name: str, members: int, *, purchases: int):

    from accounts.models import User
    from licensing.models import LicenceType
    from licensing.services import licences_purchase
    from numbering.services import NumberRequest, numbers_assign

    standard = LicenceType.objects.get(code="user_standard")
    slug = name.lower().replace(" ", "-")
    organisation = bench_organisation(name, slug=slug, members=members)
    everyone = list(User.objects.filter(organisation=organisation).order_by("email"))
    owner = next(m for m in everyone if m.role == "owner")
    per_purchase, extra = divmod(members, purchases)
    for i in range(purchases):
        quantity = per_purchase + (1 if i < extra else 0)
        if quantity:
            licences_purchase(
                organisation=organisation, licence_type=standard, quantity=quantity, actor=owner
            )
    for first in range(0, len(everyone), 2_000):
        numbers_assign(
            organisation=organisation,
            actor=owner,
            requests=[
                NumberRequest(country="FR", number_type="mobile", member=member)
                for member in everyone[first : first + 2_000]
            ],
        )
    return organisation


def _large():
    from accounts.models import Organisation

    return Organisation.objects.get(name=LARGE)


def _porting(organisation, count: int) -> None:
    """`count` French mobiles ported in, each with a valid RIO, for members without a number."""
    import datetime as dt

    from django.utils import timezone

    from accounts.models import User
    from numbering.porting import porting_request_create
    from numbering.rio import national_number_fr, rio_key

    owner = User.objects.get(organisation=organisation, role="owner")
    when = timezone.localdate() + dt.timedelta(days=30)
    newcomers = User.objects.bulk_create(
        User(
            organisation=organisation,
            email=f"porting{i}@bench-large.example",
            name=f"Porting {i:04d}",
            role="user",
            status="active",
            password="!",
        )
        for i in range(count)
    )
    for i, member in enumerate(newcomers):
        e164 = f"+3375{i:07d}"
        first_nine = "01P" + f"{i:06d}"
        rio = first_nine + rio_key(first_nine, national_number_fr(e164))
        porting_request_create(
            organisation=organisation,
            actor=owner,
            e164=e164,
            number_type="mobile",
            member=member,
            porting_date=when,
            rio=rio,
        )


def _usage(organisation, count: int) -> None:
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from billing.usage import usage_record
    from numbering.models import PhoneNumber

    numbers = list(PhoneNumber.objects.filter(organisation=organisation, status="assigned")[:500])
    now = timezone.now()
    for i in range(count):
        usage_record(
            number=numbers[i % len(numbers)],
            kind="call",
            direction="outbound",
            started_at=now - dt.timedelta(minutes=i),
            cost=Decimal("0.05"),
            duration_seconds=60,
            destination="+33612345678",
        )


def _webapp_activity(organisation) -> None:
    from accounts.models import User
    from webapp.demo import demo_activity_seed

    user = User.objects.filter(organisation=organisation, role="user").order_by("email").first()
    User.objects.filter(pk=user.pk).update(email="user@acme.example")
    demo_activity_seed()


# --- the pages ------------------------------------------------------------------------------


@dataclass
class Figures:
    label: str
    p50: float
    p95: float
    queries: list[int]
    counts: int
    size: int
    cpu_ms: float

    @property
    def ok(self) -> bool:
        return self.p95 <= TARGET_P95_MS and self.size <= TARGET_BYTES


def pages(organisation) -> list[tuple[str, str, str]]:
    """(label, who, address) for every page timed: who is "owner", "token" or "user"."""
    from django.contrib import admin
    from django.urls import reverse

    from accounts.models import AuditEvent, User
    from billing.models import Invoice, UsageRecord
    from licensing.models import Licence
    from numbering.models import PhoneNumber, PortingRequest

    def last_console(model) -> int:
        per_page = admin.site._registry[model].list_per_page
        rows = model.objects.filter(organisation=organisation).count()
        return max(0, -(-rows // per_page) - 1)

    def last_api(model, size=50) -> int:
        rows = model.objects.filter(organisation=organisation).count()
        return max(1, -(-rows // size))

    result = []
    for label, name, model in (
        ("console licences", "admin:licensing_licence_changelist", Licence),
        ("console numbers", "admin:numbering_phonenumber_changelist", PhoneNumber),
        ("console members", "admin:accounts_user_changelist", User),
        ("console invoices", "admin:billing_invoice_changelist", Invoice),
        ("console porting", "admin:numbering_portingrequest_changelist", PortingRequest),
        ("console usage", "admin:billing_usagerecord_changelist", UsageRecord),
        ("console activity log", "admin:accounts_auditevent_changelist", AuditEvent),
    ):
        url = reverse(name)
        result.append((f"{label}, first page", "owner", url))
        result.append((f"{label}, last page", "owner", f"{url}?p={last_console(model)}"))
    result.append(("console dashboard", "owner", reverse("admin:index")))
    for label, path, model in (
        ("API members", "/api/v1/members/", User),
        ("API licences", "/api/v1/licences/", Licence),
        ("API numbers", "/api/v1/numbers/", PhoneNumber),
        ("API invoices", "/api/v1/invoices/", Invoice),
        ("API porting requests", "/api/v1/porting-requests/", PortingRequest),
        ("API usage", "/api/v1/usage/", UsageRecord),
    ):
        result.append((f"{label}, first page", "token", f"{path}?page_size=50"))
        result.append(
            (f"{label}, last page", "token", f"{path}?page_size=50&page={last_api(model)}")
        )
    for label, path in (
        ("webapp home", "/"),
        ("webapp messages", "/messages/"),
        ("webapp calls", "/calls/"),
        ("webapp voicemail", "/voicemail/"),
    ):
        result.append((label, "user", path))
    return result


def clients(organisation) -> dict:
    from django.test import Client

    from accounts.api_tokens import api_token_create
    from accounts.models import User

    owner = User.objects.get(organisation=organisation, role="owner")
    user = User.objects.get(email="user@acme.example")
    console, webapp = Client(), Client()
    console.force_login(owner)
    webapp.force_login(user)
    key = api_token_create(user=owner)[1]
    return {"owner": console, "user": webapp, "token": Client(HTTP_AUTHORIZATION=f"Token {key}")}


def measure(client, label: str, path: str, repeat: int) -> Figures:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(path)  # warm up: imports, templates, the plan cache
    if response.status_code == 302:  # a list that adds its default filter: time where it leads
        path = response["Location"]
        response = client.get(path)
    if response.status_code != 200:
        sys.exit(f"{label}: {path} answered {response.status_code}: {response.content[:300]!r}")
    walls, cpus, queries, counts = [], [], [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            cpu, wall = time.process_time(), time.perf_counter()
            response = client.get(path)
            body = response.getvalue() if response.streaming else response.content
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        queries.append(len(captured))
        counts = sum("COUNT(" in q["sql"].upper() for q in captured)
    return Figures(
        label=label,
        p50=percentile(walls, 0.50),
        p95=percentile(walls, 0.95),
        queries=sorted(set(queries)),
        counts=counts,
        size=len(body),
        cpu_ms=statistics.fmean(cpus),
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    args = parse_args()
    setup_environment()
    from django.core.management import call_command

    from accounts.models import Organisation

    call_command("migrate", verbosity=0)

    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    if args.rebuild or not Organisation.objects.filter(name=LARGE).exists():
        print(
            f"Building the data set: {args.members} members, {args.others} other organisations",
            flush=True,
        )
        build(args)
    organisation = _large()
    by_who = clients(organisation)
    rows = []
    header = (
        f"{'page':<40} {'p50 ms':>7} {'p95 ms':>7} {'queries':>9} {'COUNTs':>6} "
        f"{'KB':>7} {'CPU ms':>7}"
    )
    print(header)
    print("-" * len(header))
    for label, who, path in pages(organisation):
        if args.only and args.only not in label:
            continue
        figures = measure(by_who[who], label, path, args.repeat)
        rows.append(figures)
        queries = "/".join(str(q) for q in figures.queries)
        print(
            f"{label:<40} {figures.p50:7.1f} {figures.p95:7.1f} {queries:>9} "
            f"{figures.counts:6d} {figures.size / 1024:7.1f} {figures.cpu_ms:7.1f}"
            f"{'' if figures.ok else '  <- over target'}",
            flush=True,
        )
    over = [f.label for f in rows if not f.ok]
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"target (p95 <= {TARGET_P95_MS:.0f} ms and <= {TARGET_BYTES // 1024} KB): "
        + ("met on every page" if not over else f"NOT met on {len(over)} of {len(rows)} pages")
    )


if __name__ == "__main__":
    main()
