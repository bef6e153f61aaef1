"""The renewal job on real Celery workers: twice, two at once, and killed half-way.

Whatever happens to the workers, the end result is exactly one renewal invoice per organisation
and period, with gapless invoice numbers (docs/rules.md, billing, "Every job is idempotent").
"""

import datetime as dt
import os
import signal
import time
from collections import Counter
from decimal import Decimal

import pytest

from accounts.models import Organisation
from billing.models import Invoice, InvoiceKind
from tests.jobs.conftest import AS_OF, PERIODS

pytestmark = pytest.mark.django_db(transaction=True)


def assert_each_period_billed_once(organisations) -> None:
    """One renewal invoice per organisation and period, numbered 1, 2 with no gap."""
    invoices = Invoice.objects.filter(organisation__in=organisations).order_by(
        "organisation_id", "sequence"
    )
    got = {}
    for invoice in invoices:
        got.setdefault(invoice.organisation_id, []).append(
            (invoice.kind, invoice.period_start, invoice.sequence, invoice.total)
        )
    expected = [
        (InvoiceKind.RENEWAL, start, sequence, Decimal("45.60"))  # 2 × 19.00 + 20 %
        for sequence, start in enumerate(PERIODS, start=1)
    ]
    assert got == {o.pk: expected for o in organisations}
    assert set(
        Organisation.objects.filter(pk__in=[o.pk for o in organisations]).values_list(
            "last_invoice_sequence", "next_renewal_at"
        )
    ) == {(2, dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC))}  # 1 Jan 2027 in Paris


def test_renewal_run_twice_bills_each_period_once(jobs, due_organisations):
    organisations = due_organisations(10)
    jobs.start("solo")

    jobs.send("billing.renewals_dispatch", as_of=AS_OF)
    jobs.wait_until_idle()
    first = set(Invoice.objects.values_list("pk", flat=True))
    jobs.send("billing.renewals_dispatch", as_of=AS_OF)
    jobs.wait_until_idle()

    assert_each_period_billed_once(organisations)
    assert set(Invoice.objects.values_list("pk", flat=True)) == first
    assert len(jobs.renewed()) == 20, "the second run found nothing to do"


def test_two_workers_at_once_share_the_work_and_bill_each_period_once(jobs, due_organisations):
    organisations = due_organisations(30)
    jobs.start("left", "right", RENEWAL_BATCH_SIZE="2", JOBS_TEST_RENEW_DELAY="0.02")

    # Two dispatches at once (say, beat and an operator): four renewals_work tasks.
    jobs.send("billing.renewals_dispatch", as_of=AS_OF)
    jobs.send("billing.renewals_dispatch", as_of=AS_OF)
    jobs.wait_until_idle()

    assert_each_period_billed_once(organisations)
    assert set(jobs.renewed_by()) == {"left", "right"}, "both workers renewed organisations"
    renewed = Counter((organisation, start) for _, _, organisation, start in jobs.renewed())
    assert len(renewed) == 60 and set(renewed.values()) == {1}, "no period renewed twice"


def test_worker_killed_half_way_is_redelivered_to_a_new_worker(jobs, due_organisations):
    """The pool process dies mid-batch (OOM killer, SIGKILL): late acknowledgement plus
    `task_reject_on_worker_lost` put the task back on the queue, and a new worker finishes."""
    organisations = due_organisations(30)
    [first] = jobs.start("first", RENEWAL_BATCH_SIZE="2", JOBS_TEST_RENEW_DELAY="0.05")
    jobs.send("billing.renewals_work", as_of=AS_OF)
    jobs.wait_for(lambda: len(jobs.renewed()) >= 20, what="20 periods renewed")

    jobs.stop_consuming(first)  # so that the new worker, not this one, gets the task back
    [pid] = {int(pid) for _, pid, _, _ in jobs.renewed()}
    os.kill(pid, signal.SIGKILL)
    jobs.wait_for(lambda: jobs.queued() == 1, what="the task to be put back on the queue")
    assert 0 < Invoice.objects.count() < 60, "killed half-way"

    jobs.start("second", RENEWAL_BATCH_SIZE="2")
    jobs.wait_until_idle()

    assert_each_period_billed_once(organisations)
    assert set(jobs.renewed_by()) == {"first", "second"}


def test_lost_worker_is_redelivered_after_the_visibility_timeout(jobs, due_organisations):
    """The whole worker dies (the machine is lost): its unacknowledged task stays with Redis
    and is delivered again once the visibility timeout has passed."""
    organisations = due_organisations(30)
    [lost] = jobs.start("lost", RENEWAL_BATCH_SIZE="2", JOBS_TEST_RENEW_DELAY="0.05")
    jobs.send("billing.renewals_work", as_of=AS_OF)
    jobs.wait_for(lambda: len(jobs.renewed()) >= 20, what="20 periods renewed")

    jobs.kill(lost)
    assert (jobs.queued(), jobs.unacked()) == (0, 1)
    assert 0 < Invoice.objects.count() < 60, "killed half-way"
    # A short timeout for the test (production: 2 hours, longer than any task may run).
    time.sleep(2.5)
    jobs.start("heir", RENEWAL_BATCH_SIZE="2", BROKER_VISIBILITY_TIMEOUT="2")
    jobs.wait_until_idle()

    assert_each_period_billed_once(organisations)
    assert set(jobs.renewed_by()) == {"lost", "heir"}
