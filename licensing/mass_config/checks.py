"""Large mass-configuration files are checked in the background (docs/security.md "Uploads"):
the upload stores the file and returns at once, a Celery task runs the same dry run
(`mass_config_validate`) and reports its progress row by row, and the review page follows it.
Small files are still checked within the request; confirming applies as before, under the
organisation's lock, validating again."""

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation
from licensing.mass_config.applying import mass_config_validate
from licensing.mass_config.results import Report
from licensing.mass_config.reviewed import REVIEWED_FILES_KEPT, reviewed_path
from licensing.models import MassConfigurationCheck
from licensing.models import MassConfigurationCheckStatus as Status

logger = logging.getLogger(__name__)


def checked_in_background(data: bytes) -> bool:
    """Whether a file is long enough to be checked by a job rather than within the request
    (MASS_CONFIG_BACKGROUND_ROWS lines; counting them costs a scan of the bytes, no parsing)."""
    return data.count(b"\n") > settings.MASS_CONFIG_BACKGROUND_ROWS


def mass_config_check_start(
    *, organisation: Organisation, actor, data: bytes, filename: str
) -> MassConfigurationCheck:
    """Record a check and keep the file for it; the caller queues `licensing.mass_config_check`
    once its transaction commits."""
    check = MassConfigurationCheck.objects.create(
        organisation=organisation,
        requested_by=actor if getattr(actor, "pk", None) else None,
        filename=filename[:255],
    )
    default_storage.save(reviewed_path(check.pk.hex), ContentFile(data))
    return check


def mass_config_check_run(
    *, check_id: uuid.UUID, render: Callable[[MassConfigurationCheck, Report], str]
) -> MassConfigurationCheck:
    """Check the stored file (the job). Idempotent: a check already finished is left as it is,
    and a redelivered job simply checks again. `render` turns the report into the review the
    page shows (the console's template)."""
    rows = MassConfigurationCheck.objects.filter(pk=check_id)
    claimed = rows.filter(Q(status=Status.QUEUED) | Q(status=Status.CHECKING)).update(
        status=Status.CHECKING
    )
    check = rows.select_related("organisation").get()
    if not claimed:
        return check

    def progress(done: int, total: int) -> None:
        rows.update(rows=total, checked_rows=done)

    try:
        with default_storage.open(reviewed_path(check.pk.hex), "rb") as stored:
            data = stored.read()
        report = mass_config_validate(
            organisation=check.organisation, file_bytes=data, progress=progress
        )
        html = render(check, report)
    except Exception:
        logger.exception("mass configuration check %s failed", check.pk)
        rows.update(status=Status.FAILED, finished_at=timezone.now())
        raise
    total = len(report.rows) if report.ok else check.rows
    rows.update(
        status=Status.DONE,
        ok=report.ok,
        rows=max(total, check.rows),
        checked_rows=max(total, check.rows),
        report_html=html,
        finished_at=timezone.now(),
    )
    check.refresh_from_db()
    return check


def mass_config_checks_discard(*, at) -> int:
    """Delete the checks older than REVIEWED_FILES_KEPT (their files go with the reviewed files);
    for the daily job beside `reviewed_files_discard`."""
    deleted, _ = MassConfigurationCheck.objects.filter(
        created_at__lte=at - REVIEWED_FILES_KEPT
    ).delete()
    return deleted
