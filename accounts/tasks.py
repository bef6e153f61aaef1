"""Account jobs (docs/architecture.md): thin Celery tasks over the account services."""

from celery import shared_task

from accounts.closing import organisations_finish_closing
from telecom.celery import JOB_OPTIONS, as_of_from_iso


@shared_task(name="accounts.finish_closing", **JOB_OPTIONS)
def finish_closing(as_of: str | None = None) -> int:
    """Hourly: closed organisations reach their last period end: licences terminate (rule 19)."""
    return organisations_finish_closing(at=as_of_from_iso(as_of))
