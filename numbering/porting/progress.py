"""The porting job: asks the carrier about every open request and applies what is due; idempotent,
for the hourly task (`numbering.tasks`) and `run_billing`."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from numbering.carriers import PortingUpdate, carrier
from numbering.models import (
    PortingRequest,
    PortingStatus,
)
from numbering.porting.rules import _NEXT
from numbering.porting.services import _accept, _case, _complete, _reject
from telecom.locks import organisation_for_update

# --- the job --------------------------------------------------------------------------------


_APPLY = {
    PortingStatus.ACCEPTED: lambda r, u, at: _accept(
        r, actor=None, at=at, porting_date=u.porting_date, note=u.note
    ),
    PortingStatus.COMPLETED: lambda r, u, at: _complete(r, actor=None, at=at, note=u.note),
    PortingStatus.REJECTED: lambda r, u, at: _reject(
        r, actor=None, at=at, reason=u.note or "Rejected by the operator."
    ),
}


def porting_progress(*, at: datetime | None = None, batch: int = 500) -> int:
    """Ask the carrier about every open request and apply what is due as of `at`; return how
    many transitions were applied.

    For the hourly Celery job and `manage.py run_billing`. Idempotent: each request is handled in
    its own transaction under its organisation's lock and re-read there, so running twice, or in
    two workers, applies each transition once. A request can go through several steps in one run
    when `at` is far ahead (accepted, then completed). Every open request is looked at, `batch`
    ids at a time.
    """
    at = at or timezone.now()
    applied = 0
    backend = carrier()
    after = None
    while True:
        open_requests = PortingRequest.objects.filter(
            status__in=(PortingStatus.SUBMITTED, PortingStatus.ACCEPTED), created_at__lte=at
        )
        if after is not None:
            open_requests = open_requests.filter(pk__gt=after)
        page = list(open_requests.order_by("pk").values_list("pk", "organisation_id")[:batch])
        if not page:
            return applied
        after = page[-1][0]
        for pk, organisation_id in page:
            applied += _progress_one(pk, organisation_id, backend=backend, at=at)


def _progress_one(pk, organisation_id, *, backend, at: datetime) -> int:
    applied = 0
    with transaction.atomic():
        org = organisation_for_update(organisation_id)
        request = (
            PortingRequest.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .filter(pk=pk)
            .first()
        )
        for _step in range(len(_NEXT)):
            if request is None or not request.is_open:
                break
            update: PortingUpdate | None = backend.porting_check(case=_case(request, org, at))
            if update is None or update.status not in _APPLY:
                break
            _APPLY[update.status](request, update, at)
            applied += 1
    return applied
