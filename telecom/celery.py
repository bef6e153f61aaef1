"""The Celery app, and what every job shares: its retry policy and its "as of" time.

Jobs (docs/architecture.md) are thin tasks over services: ids and ISO strings in, one service call,
quiet when the work is already done. They are acknowledged late and re-queued when a worker dies
(settings), so each one must be safe to run twice; the services guarantee that.
"""

import os
from collections.abc import Callable
from datetime import UTC, datetime

import kombu.exceptions
import redis.exceptions
from celery import Celery
from django.db import InterfaceError, OperationalError
from django.utils import timezone

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telecom.settings.base")

app = Celery("telecom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Errors that say "try again later": the database or the broker went away for a moment (a
# restart, a failover, a dropped connection, a deadlock or serialisation failure, which Django
# reports as OperationalError). Domain errors, validation errors and integrity errors are never
# retried: the same input would fail the same way.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)

# Task options shared by every job: a few retries with exponential backoff (5 s, 10 s, 20 s, ...
# with jitter, at most 5 minutes apart, well inside the broker's visibility timeout).
JOB_OPTIONS = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


def as_of_from_iso(value: str | None) -> datetime:
    """A job's "as of" time from an ISO 8601 string; now when absent. Naive means UTC.

    Jobs take the time as an argument so any run can be replayed (`run_billing --as-of`).
    """
    if value is None:
        return timezone.now()
    parsed = datetime.fromisoformat(value)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def drain(service: Callable[..., int], **kwargs) -> int:
    """Call a batch service (one that handles at most `limit` rows a call) until it is done."""
    total = 0
    while done := service(**kwargs):
        total += done
    return total
