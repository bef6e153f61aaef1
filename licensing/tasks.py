"""Licensing jobs (docs/architecture.md): thin Celery tasks."""

from celery import shared_task

from licensing.mass_config.reviewed import reviewed_files_discard
from telecom.celery import JOB_OPTIONS, as_of_from_iso


@shared_task(name="licensing.discard_unconfirmed_uploads", **JOB_OPTIONS)
def discard_unconfirmed_uploads(as_of: str | None = None) -> int:
    """Daily: delete mass configuration files reviewed but never confirmed (rule 23)."""
    return reviewed_files_discard(at=as_of_from_iso(as_of))
