"""What every benchmark does first: make sure its database exists, then start Django on it."""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def ensure_database(url: str) -> None:
    """Create the database `url` names on its server if it is missing."""
    import psycopg

    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


def django_on_database(example: str, **environment: str) -> None:
    """Django with the base settings on DATABASE_URL (created if missing); `example` is what the
    message suggests when DATABASE_URL is not set."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit(f"Set DATABASE_URL, e.g. {example}")
    ensure_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telecom.settings.base")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for name, value in environment.items():
        os.environ.setdefault(name, value)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def bench_organisation(name: str, *, slug: str, members: int):
    """A French, monthly, auto-purchase organisation on user licences with `members` active
    members (the first its owner, all with unusable passwords: benches sign in by token)."""
    import datetime as dt

    from django.utils import timezone

    from accounts.models import Organisation, User
    from licensing.models import LicenceType

    organisation = Organisation.objects.create(
        name=name,
        country="FR",
        currency="EUR",
        timezone="Europe/Paris",
        plan="connect",
        billing_frequency="monthly",
        licence_policy="auto_purchase",
        billing_anchor=timezone.localdate() - dt.timedelta(days=10),
        payment_method_kind="card",
        payment_method_reference=f"pm_{slug}",
        default_licence_type=LicenceType.objects.get(code="user_standard"),
    )
    User.objects.bulk_create(
        User(
            organisation=organisation,
            email=f"member{i}@{slug}.example",
            name=f"Member {i:05d} of {name}",
            role="owner" if i == 0 else "user",
            status="active",
            password="!",
        )
        for i in range(members)
    )
    return organisation
