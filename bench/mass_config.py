"""Mass configuration benchmark: a 10,000-row phone-system file validated, then applied.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telecom \
        .venv/bin/python bench/mass_config.py [--rows 10000]

What it does, in a dedicated database (`telecom_bench_mass_config` on DATABASE_URL's server,
created and migrated here; emptied of organisations and inventory on every run):

1. creates a US organisation (auto-purchase, max plan) with `--rows` members, puts `--rows` valid
   US numbers in the local carrier inventory, and gives the organisation some free licences so
   both paths run: 30 % of the rows take a free phone-system licence, the rest buy one, and
   about half the call-recording add-ons are free;
2. writes the CSV the admin would upload: one row per member, extension 1000 + n, the number in
   national digits (`2125550123`, read in the organisation's country), the member's e-mail, and
   two to four add-on codes;
3. times `mass_config_validate` (the dry run) and `mass_config_apply` (which validates again
   under the organisation's lock and writes everything in one transaction) on the full file,
   counting each phase's queries, and checks the result;
4. does the same for a second, 100-row organisation (same proportions) to show that the query
   count does not grow with the rows.

Target on the 2-core machine: both phases together under 20 s, with the same query count for
100 rows as for 10,000. Not part of the test suite.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 20.0
ADDON_SETS = [
    ("device_ip_phone", "call_recording"),
    ("device_ip_phone", "device_mobile_app", "license_dnc_checking_enabled", "call_recording"),
    ("device_ip_phone", "device_desktop_app", "call_recording"),
    ("device_web_rtc", "team_chat"),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database", default="telecom_bench_mass_config")
    parser.add_argument(
        "--verbose", action="store_true", help="print the slowest statements of each phase"
    )
    return parser.parse_args()


def setup_environment(args) -> None:
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL (any database on the PostgreSQL server to use).")
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [args.database]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.database}"')
    os.environ.update(
        DATABASE_URL=urlunsplit(parts._replace(path="/" + args.database)),
        DJANGO_SETTINGS_MODULE="telecom.settings.base",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare() -> None:
    from django.core.management import call_command
    from django.db import connection

    from licensing.catalogue import load_catalogue
    from licensing.models import LicenceType

    call_command("migrate", verbosity=0)
    if not LicenceType.objects.exists():
        load_catalogue()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_organisation, numbering_inventorynumber CASCADE")


def generate(rows: int, *, name: str, numbers_from: int):
    """An organisation with `rows` members, free licences, and `rows` numbers in the inventory.
    Returns (organisation, admin, the CSV file)."""
    import datetime as dt
    from decimal import Decimal

    from accounts.models import Organisation, User
    from licensing.models import Licence, LicenceType
    from numbering.inventory import generate_numbers
    from numbering.models import InventoryNumber

    org = Organisation.objects.create(
        name=f"Bench {name}",
        country="US",
        currency="USD",
        timezone="America/New_York",
        plan="max",
        licence_policy="auto_purchase",
        billing_anchor=dt.date(2026, 11, 1),
        payment_method_kind="card",
        payment_method_reference=f"pm_{name}",
        tax_rate=Decimal("0.0000"),
        default_licence_type=LicenceType.objects.get(code="user_standard"),
    )
    admin = User.objects.create_user(
        email=f"admin@{name}.example",
        password=None,
        name="Admin",
        organisation=org,
        role="admin",
        status="active",
    )
    User.objects.bulk_create(
        User(
            email=f"member{n:05d}@{name}.example",
            name=f"Member {n:05d}",
            organisation=org,
            role="user",
            status="active",
            password="!",
        )
        for n in range(rows)
    )
    numbers = list(generate_numbers("US", "landline", rows, start=numbers_from))
    InventoryNumber.objects.bulk_create(
        (InventoryNumber(e164=e164, country="US", number_type="landline") for e164 in numbers),
        batch_size=5000,
    )
    phone_system = LicenceType.objects.get(code="phone_system")
    recording = LicenceType.objects.get(code="call_recording")
    Licence.objects.bulk_create(
        [Licence(organisation=org, licence_type=phone_system) for _ in range(rows * 3 // 10)]
        + [Licence(organisation=org, licence_type=recording) for _ in range(rows * 3 // 8)],
        batch_size=5000,
    )
    header = "Ext Key,Number,User,Addon license 1,Addon license 2,Addon license 3,Addon license 4"
    lines = [header]
    for n, e164 in enumerate(numbers):
        addons = ADDON_SETS[n % len(ADDON_SETS)]
        lines.append(
            ",".join(
                [
                    str(1000 + n),
                    e164.removeprefix("+1"),
                    f"member{n:05d}@{name}.example",
                    *addons,
                    *[""] * (4 - len(addons)),
                ]
            )
        )
    return org, admin, ("\r\n".join(lines) + "\r\n").encode()


SLOWEST: dict[str, list] = {}


def measure(call, name: str = ""):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
    SLOWEST[name] = sorted(((float(q["time"]), q["sql"][:90]) for q in queries), reverse=True)[:5]
    SLOWEST[name].insert(0, (sum(float(q["time"]) for q in queries), "all statements"))
    return result, seconds, len(queries)


def main() -> None:
    args = parse_args()
    setup_environment(args)
    from django.db import connection

    from licensing.mass_config import mass_config_apply, mass_config_validate
    from licensing.models import Licence
    from numbering.models import InventoryNumber, PhoneNumber

    started = time.perf_counter()
    prepare()
    small_org, small_admin, small = generate(100, name="small", numbers_from=0)
    org, admin, data = generate(args.rows, name="large", numbers_from=10_000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"generated {args.rows:,} members, numbers and rows ({len(data) / 1024:,.0f} KiB), "
        f"and a 100-row organisation alike, in {time.perf_counter() - started:.1f} s"
    )

    report, validate_s, validate_q = measure(
        lambda: mass_config_validate(organisation=org, file_bytes=data), "validate"
    )
    if not report.ok:
        sys.exit(f"the bench file has errors: {report.errors[:5]}")
    summary, apply_s, apply_q = measure(
        lambda: mass_config_apply(organisation=org, actor=admin, file_bytes=data), "apply"
    )

    # The small organisation afterwards: run first, it would leave this connection with foreign
    # key check plans made while the tables were nearly empty, which production never sees.
    _, _, small_validate = measure(
        lambda: mass_config_validate(organisation=small_org, file_bytes=small)
    )
    _, _, small_apply = measure(
        lambda: mass_config_apply(organisation=small_org, actor=small_admin, file_bytes=small)
    )

    configured = Licence.objects.filter(organisation=org, extension__isnull=False).count()
    assigned = PhoneNumber.objects.filter(organisation=org, status="assigned").count()
    assert configured == assigned == args.rows, (configured, assigned)
    assert not InventoryNumber.objects.exists()

    total = validate_s + apply_s
    print(f"rows: {args.rows:,}; summary: {summary.as_dict()}; invoice {summary.invoice.number}")
    print(
        f"validate: {validate_s:6.2f} s, {validate_q} queries (100 rows: {small_validate} queries)"
    )
    print(f"apply:    {apply_s:6.2f} s, {apply_q} queries (100 rows: {small_apply} queries)")
    if args.verbose:
        for name, slowest in SLOWEST.items():
            print(f"{name}: database time of the slowest statements")
            for seconds, sql in slowest:
                print(f"  {seconds:6.2f} s  {sql}")
    flat = validate_q == small_validate and apply_q == small_apply
    verdict = "OK" if total < TARGET_SECONDS and flat else "MISSED"
    print(f"total:    {total:6.2f} s (target < {TARGET_SECONDS:.0f} s, queries flat): {verdict}")


if __name__ == "__main__":
    main()
