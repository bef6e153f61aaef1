"""The overdue job records each invoice once, even when runs overlap (docs/rules.md#rule-18)."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from billing import services as billing_services
from billing.models import Invoice
from billing.renewal import renewals_run
from tests.concurrency import run_concurrently

race = pytest.mark.django_db(transaction=True)

PARIS = dt.timezone(dt.timedelta(hours=1))
ISSUED = dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC)
LATE = dt.datetime(2026, 12, 16, 9, tzinfo=dt.UTC)  # the 15 Dec due date is past in Paris


@race
@time_machine.travel(LATE, tick=False)
def test_concurrent_overdue_runs_record_each_invoice_once(due_organisations):
    organisations = due_organisations(3)
    renewals_run(at=ISSUED)
    invoices = Invoice.objects.filter(organisation__in=organisations)
    assert invoices.count() == 6
    assert set(invoices.values_list("due_on", flat=True)) == {dt.date(2026, 12, 15)}

    results = run_concurrently(
        [lambda: billing_services.invoices_flag_overdue(at=LATE) for _ in range(6)]
    )

    assert sorted(results) == [0, 0, 0, 0, 0, 6]
    per_invoice = (
        AuditEvent.objects.filter(action="invoice.overdue")
        .values("target_id")
        .annotate(rows=Count("id"))
    )
    assert sorted(row["rows"] for row in per_invoice) == [1] * 6
    assert {row["target_id"] for row in per_invoice} == {
        str(pk) for pk in invoices.values_list("pk", flat=True)
    }
    assert set(invoices.values_list("overdue_flagged_at", flat=True)) == {LATE}
    assert billing_services.invoices_flag_overdue(at=LATE) == 0


@race
@time_machine.travel(LATE, tick=False)
def test_a_paid_invoice_is_not_flagged_and_the_job_reads_no_audit_rows(due_organisations):
    [organisation] = due_organisations(1)
    renewals_run(at=ISSUED)
    first, second = Invoice.objects.filter(organisation=organisation).order_by("sequence")
    billing_services.invoice_record_payment(invoice=first, actor=None, reference="bank-1")

    assert billing_services.invoices_flag_overdue(at=LATE) == 1
    assert list(
        AuditEvent.objects.filter(action="invoice.overdue").values_list("target_id", flat=True)
    ) == [str(second.pk)]
    # Already flagged: nothing to do, and the audit trail (which only grows) is not read.
    with CaptureQueriesContext(connection) as queries:
        assert billing_services.invoices_flag_overdue(at=LATE) == 0
    assert not [q["sql"] for q in queries if AuditEvent._meta.db_table in q["sql"]]
