"""Numbering jobs (docs/architecture.md): thin Celery tasks over the numbering services."""

from celery import shared_task

from numbering.porting.progress import porting_progress
from numbering.services import numbers_release_quarantined
from telecom.celery import JOB_OPTIONS, as_of_from_iso, drain


@shared_task(name="numbering.release_quarantined_numbers", **JOB_OPTIONS)
def release_quarantined_numbers(as_of: str | None = None) -> int:
    """Daily: numbers whose quarantine has ended go back to the inventory (rule 6)."""
    return drain(numbers_release_quarantined, at=as_of_from_iso(as_of))


@shared_task(name="numbering.porting_progress", **JOB_OPTIONS)
def porting_progress_task(as_of: str | None = None) -> int:
    """Hourly: the carrier moves porting requests forward (rule 20)."""
    return porting_progress(at=as_of_from_iso(as_of))
