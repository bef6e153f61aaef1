"""The job tasks in-process: thin wrappers, retries only for transient errors, the schedule."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import IntegrityError, OperationalError

from billing import tasks as billing_tasks
from billing.models import Invoice
from numbering import tasks as numbering_tasks
from telecom import errors
from telecom.celery import TRANSIENT_ERRORS, app, as_of_from_iso
from tests.jobs.conftest import AS_OF

pytestmark = pytest.mark.django_db
AS_OF_TIME = dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC)
JOBS = [
    billing_tasks.renewals_dispatch,
    billing_tasks.renewals_work,
    billing_tasks.renew_organisation,
    billing_tasks.flag_overdue_invoices,
    numbering_tasks.release_quarantined_numbers,
]


def failing(*failures):
    """A stand-in service raising `failures` in turn, then returning 7; it records its calls."""

    def service(**kwargs):
        service.calls.append(kwargs)
        if len(service.calls) <= len(failures):
            raise failures[len(service.calls) - 1]
        return 7

    service.calls = []
    return service


def test_transient_errors_are_retried(monkeypatch):
    service = failing(
        OperationalError("server closed the connection unexpectedly"),
        OperationalError("could not serialize access"),
    )
    monkeypatch.setattr(billing_tasks, "renewals_run", service)

    result = billing_tasks.renewals_work.apply(kwargs={"as_of": AS_OF})

    assert result.get() == 7
    assert service.calls == [{"at": AS_OF_TIME}] * 3  # same as-of time on every attempt


def test_retries_stop_after_a_few(monkeypatch):
    service = failing(*[OperationalError("database is restarting")] * 10)
    monkeypatch.setattr(billing_tasks, "invoices_flag_overdue", service)

    result = billing_tasks.flag_overdue_invoices.apply(kwargs={"as_of": AS_OF})

    assert result.failed() and isinstance(result.result, OperationalError)
    assert len(service.calls) == 1 + 5


@pytest.mark.parametrize(
    "error",
    [
        errors.AccountRestricted("restricted"),
        IntegrityError("duplicate key"),
        ValueError("bad data"),
    ],
)
def test_domain_and_other_errors_are_not_retried(monkeypatch, error):
    service = failing(error)
    monkeypatch.setattr(billing_tasks, "renewals_run", service)

    result = billing_tasks.renewals_work.apply(kwargs={"as_of": AS_OF})

    assert result.failed() and result.result is error
    assert len(service.calls) == 1


def test_every_job_retries_transient_errors_with_backoff_and_has_an_explicit_name():
    assert [job.name for job in JOBS] == [
        "billing.renewals_dispatch",
        "billing.renewals_work",
        "billing.renew_organisation",
        "billing.flag_overdue_invoices",
        "numbering.release_quarantined_numbers",
    ]
    for job in JOBS:
        assert job.autoretry_for == TRANSIENT_ERRORS
        assert (job.retry_backoff, job.retry_backoff_max, job.max_retries) == (5, 300, 5)
    assert not any(issubclass(errors.DomainError, e) for e in TRANSIENT_ERRORS)


def test_dispatch_sends_fanout_workers_after_commit_with_one_as_of(
    monkeypatch, due_organisations, django_capture_on_commit_callbacks
):
    due_organisations(3)
    sent = []
    monkeypatch.setattr(billing_tasks.renewals_work, "delay", lambda **kw: sent.append(kw))
    monkeypatch.setattr(settings, "RENEWAL_FANOUT", 2)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert billing_tasks.renewals_dispatch.apply(kwargs={"as_of": AS_OF}).get() == 2

    assert len(callbacks) == 2
    assert sent == [{"as_of": "2026-12-01T06:00:00+00:00"}] * 2


def test_dispatch_sends_nothing_when_nothing_is_due(monkeypatch, due_organisations):
    due_organisations(3)
    sent = []
    monkeypatch.setattr(
        billing_tasks.renewals_work, "delay_on_commit", lambda **kw: sent.append(kw)
    )

    early = "2026-10-31T12:00:00+00:00"
    assert billing_tasks.renewals_dispatch.apply(kwargs={"as_of": early}).get() == 0
    assert sent == []


def test_dispatch_sends_no_more_workers_than_organisations_due(monkeypatch, due_organisations):
    due_organisations(1)
    sent = []
    monkeypatch.setattr(
        billing_tasks.renewals_work, "delay_on_commit", lambda **kw: sent.append(kw)
    )
    monkeypatch.setattr(settings, "RENEWAL_FANOUT", 4)

    assert billing_tasks.renewals_dispatch.apply(kwargs={"as_of": AS_OF}).get() == 1
    assert sent == [{"as_of": AS_OF}]


def test_renew_organisation_renews_its_due_periods_once(due_organisations):
    [organisation, other] = due_organisations(2)
    renew = billing_tasks.renew_organisation

    assert renew.apply(kwargs={"organisation_id": str(organisation.pk), "as_of": AS_OF}).get() == 2
    assert renew.apply(kwargs={"organisation_id": str(organisation.pk), "as_of": AS_OF}).get() == 0
    assert Invoice.objects.filter(organisation=organisation).count() == 2
    assert not Invoice.objects.filter(organisation=other).exists()


def test_quarantine_release_drains_every_batch(monkeypatch):
    batches = iter([1000, 1000, 3, 0])
    calls = []

    def release(*, at):
        calls.append(at)
        return next(batches)

    monkeypatch.setattr(numbering_tasks, "numbers_release_quarantined", release)

    result = numbering_tasks.release_quarantined_numbers.apply(kwargs={"as_of": AS_OF})

    assert result.get() == 2003 and calls == [AS_OF_TIME] * 4


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-12-01T06:00:00+00:00", AS_OF_TIME),
        ("2026-12-01T07:00:00+01:00", AS_OF_TIME),
        ("2026-12-01T06:00:00Z", AS_OF_TIME),
        ("2026-12-01T06:00:00", AS_OF_TIME),  # naive: UTC
        ("2026-12-01", dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
    ],
)
def test_as_of_is_an_aware_time(given, expected):
    assert as_of_from_iso(given) == expected
    assert as_of_from_iso(given).utcoffset() is not None


def test_as_of_defaults_to_now():
    before = dt.datetime.now(dt.UTC)
    assert before <= as_of_from_iso(None) <= dt.datetime.now(dt.UTC)


def test_beat_schedules_each_job_and_the_tasks_exist():
    schedule = settings.CELERY_BEAT_SCHEDULE
    app.loader.import_default_modules()
    assert {entry["task"] for entry in schedule.values()} <= set(app.tasks)
    renewals = schedule["billing.renewals"]
    assert renewals["task"] == "billing.renewals_dispatch"
    assert renewals["schedule"].minute == {5} and len(renewals["schedule"].hour) == 24
    for name, task in [
        ("billing.overdue-invoices", "billing.flag_overdue_invoices"),
        ("billing.dunning", "billing.dunning"),
        ("numbering.quarantine-release", "numbering.release_quarantined_numbers"),
        ("licensing.discard-unconfirmed-uploads", "licensing.discard_unconfirmed_uploads"),
        ("accounts.discard-expired-signups", "accounts.discard_expired_signups"),
    ]:
        assert schedule[name]["task"] == task
        assert len(schedule[name]["schedule"].hour) == 1  # daily


def test_workers_acknowledge_late_and_outlive_no_task():
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit < conf.task_time_limit
    if conf.broker_url.startswith("redis"):
        # Redis delivers an unacknowledged message again after the visibility timeout: it must
        # be longer than any task may run, or a slow task would be run twice at once.
        assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
