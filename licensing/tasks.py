"""Licensing jobs (docs/architecture.md): thin Celery tasks."""

import uuid

from celery import shared_task

from licensing.admin.mass_config import render_review
from licensing.mass_config.checks import mass_config_check_run, mass_config_checks_discard
from licensing.mass_config.reviewed import reviewed_files_discard
from telecom.celery import JOB_OPTIONS, as_of_from_iso


@shared_task(name="licensing.discard_unconfirmed_uploads", **JOB_OPTIONS)
def discard_unconfirmed_uploads(as_of: str | None = None) -> int:
    """Daily: delete mass configuration files reviewed but never confirmed (rule 23), and the
    background checks of that age."""
    at = as_of_from_iso(as_of)
    return reviewed_files_discard(at=at) + mass_config_checks_discard(at=at)


@shared_task(name="licensing.mass_config_check", **JOB_OPTIONS)
def mass_config_check(check_id: str) -> str:
    """Check a large uploaded file in the background; the console's review page follows it."""
    check = mass_config_check_run(check_id=uuid.UUID(check_id), render=render_review)
    return check.status
