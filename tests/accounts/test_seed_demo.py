"""`manage.py seed_demo` is idempotent, also when called again in the same process."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction

from accounts.models import Organisation, User
from billing.models import Invoice

pytestmark = pytest.mark.django_db


class Undo(Exception):
    pass


def seed() -> tuple[int, int, int]:
    call_command("seed_demo", stdout=StringIO())
    return (Organisation.objects.count(), User.objects.count(), Invoice.objects.count())


@time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False)
def test_seeding_again_in_one_process_creates_the_demo_once():
    # A first seeding, undone (as between two tests), must leave the demo's own data intact.
    try:
        with transaction.atomic():
            first = seed()
            raise Undo
    except Undo:
        pass

    assert seed() == first
    assert seed() == first
    assert User.objects.filter(email="owner@acme.example", organisation__isnull=False).exists()
