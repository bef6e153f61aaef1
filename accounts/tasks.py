"""Account jobs (docs/architecture.md): thin Celery tasks over the account services."""

from celery import shared_task

from accounts.closing import organisations_finish_closing
from accounts.signup import signup_requests_discard
from telecom.celery import JOB_OPTIONS, as_of_from_iso


@shared_task(name="accounts.finish_closing", **JOB_OPTIONS)
def finish_closing(as_of: str | None = None) -> int:
    """Hourly: closed organisations reach their last period end: licences terminate (rule 19)."""
    return organisations_finish_closing(at=as_of_from_iso(as_of))


@shared_task(name="accounts.discard_expired_signups", **JOB_OPTIONS)
def discard_expired_signups(as_of: str | None = None) -> int:
    """Daily: sign-up requests whose confirmation link has expired are deleted."""
    return signup_requests_discard(at=as_of_from_iso(as_of))
