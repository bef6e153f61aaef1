"""`manage.py run_billing --as-of`: the scheduled work, synchronously, idempotent."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from billing.models import Invoice
from numbering import services as numbering_services
from numbering.models import NumberStatus
from tests.factories import UserFactory, give_number

pytestmark = pytest.mark.django_db


def run_billing(*args) -> list[str]:
    out = StringIO()
    call_command("run_billing", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def organisation(due_organisations):
    """Due for its 1 Nov and 1 Dec periods (Paris), holding a number deleted on 10 Oct."""
    [organisation] = due_organisations(1)
    owner = UserFactory(organisation=organisation, role="owner")
    october_10 = dt.datetime(2026, 10, 10, 12, tzinfo=dt.UTC)
    number = give_number(owner, at=october_10)
    numbering_services.number_delete(number=number, actor=owner, at=october_10)
    return organisation


def test_runs_every_due_job_as_of_the_time_given_then_finds_nothing(organisation):
    assert run_billing("--as-of", "2026-12-01T06:00:00+00:00") == [
        "Billing as of 2026-12-01T06:00:00+00:00",
        "  renewal periods processed: 2",
        "  closed organisations finished: 0",
        "  porting requests moved on: 0",
        # The 1 Nov invoice is issued late, today, so it is due 14 days from today, not overdue.
        "  invoices flagged overdue: 0",
        "  invoices charged (dunning): 0",  # no payment method of the payment provider
        "  quarantined numbers released: 1",  # quarantined until 9 Nov
    ]
    assert run_billing("--as-of", "2026-12-01T06:00:00+00:00")[1:] == [
        "  renewal periods processed: 0",
        "  closed organisations finished: 0",
        "  porting requests moved on: 0",
        "  invoices flagged overdue: 0",
        "  invoices charged (dunning): 0",
        "  quarantined numbers released: 0",
    ]
    assert sorted(
        Invoice.objects.filter(organisation=organisation).values_list("period_start", flat=True)
    ) == [dt.date(2026, 11, 1), dt.date(2026, 12, 1)]
    assert set(
        Invoice.objects.filter(organisation=organisation).values_list("due_on", flat=True)
    ) == {dt.date(2026, 12, 15)}
    assert run_billing("--as-of", "2026-12-16T06:00:00+00:00")[4] == (
        "  invoices flagged overdue: 2"
    )
    assert AuditEvent.objects.filter(action="invoice.overdue").count() == 2
    assert organisation.numbers.get().status == NumberStatus.RELEASED


def test_as_of_decides_what_is_due(organisation):
    # 1 Dec starts at 23:00 UTC on 30 Nov in Paris; a naive time is UTC.
    assert run_billing("--as-of", "2026-11-30T22:59:59")[:2] == [
        "Billing as of 2026-11-30T22:59:59+00:00",
        "  renewal periods processed: 1",
    ]
    assert run_billing("--as-of", "2026-12-01T00:00:00+01:00")[1] == (
        "  renewal periods processed: 1"
    )
    assert Invoice.objects.filter(organisation=organisation).count() == 2


def test_as_of_defaults_to_now(organisation):
    with time_machine.travel(dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC), tick=False):
        assert run_billing()[:2] == [
            "Billing as of 2026-11-15T12:00:00+00:00",
            "  renewal periods processed: 1",
        ]


def test_a_bad_as_of_is_refused_and_nothing_runs(organisation):
    with pytest.raises(CommandError, match="not an ISO 8601 time"):
        run_billing("--as-of", "first of December")
    assert not Invoice.objects.exists()
