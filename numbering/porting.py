"""Porting numbers in from another operator (rule 20): requests, transitions, the progress job.

A request reserves a licence slot at once, under rules 1-5 and 18, with the same licence picking
as a new number (`numbering.services`): the reservation is a PhoneNumber row with status
`porting` on the chosen licence, so capacity and the plan cap count it like a held number. On
completion that row becomes `assigned` (its history opens); on rejection or cancellation it is
released and the slot frees. A licence bought for the reservation stays, like any other (rule 6).

Statuses: submitted → accepted (the losing operator confirmed the date) → completed; submitted or
accepted → rejected (with a reason) or cancelled (by the organisation). Every transition writes a
`PortingEvent` and an audit row. The carrier backend moves requests forward: `porting_progress`
asks it about every open request and applies what is due; it is idempotent, for the hourly job
and `run_billing`.
"""

import datetime as dt
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.periods import local_date
from billing.selectors import organisation_today
from licensing.models import Licence, LicenceType
from licensing.services import check_assignee, ensure_not_restricted
from numbering.allocation import licence_for_new_number, licence_receive_number
from numbering.capacity import receiving_counts_as_change
from numbering.carriers import PortingCase, PortingUpdate, carrier
from numbering.models import (
    NumberStatus,
    NumberType,
    PhoneNumber,
    PortingEvent,
    PortingRequest,
    PortingStatus,
)
from numbering.phone import parse_number
from numbering.rio import validate_rio
from numbering.services import history_open
from telecom import errors
from telecom.locks import organisation_for_update

# Settings (with these defaults): how far ahead a porting date must be, and the document cap.
DEFAULT_MIN_WORKING_DAYS = 3
DEFAULT_DOCUMENT_MAX_BYTES = 5 * 1024 * 1024

# What a losing operator accepts as proof, by content (magic bytes), never by file name.
_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
]

_NEXT = {
    PortingStatus.SUBMITTED: {
        PortingStatus.ACCEPTED,
        PortingStatus.REJECTED,
        PortingStatus.CANCELLED,
    },
    PortingStatus.ACCEPTED: {
        PortingStatus.COMPLETED,
        PortingStatus.REJECTED,
        PortingStatus.CANCELLED,
    },
}


class PortingStatusConflict(errors.DomainError):
    code = "porting_status_conflict"
    default_detail = "This porting request is not in a state that allows this."


def min_working_days() -> int:
    return getattr(settings, "PORTING_MIN_WORKING_DAYS", DEFAULT_MIN_WORKING_DAYS)


def document_max_bytes() -> int:
    return getattr(settings, "PORTING_DOCUMENT_MAX_BYTES", DEFAULT_DOCUMENT_MAX_BYTES)


# --- pure rules -----------------------------------------------------------------------------


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days (Monday to Friday) after `start`."""
    current = start
    while days > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def earliest_porting_date(today: date, *, working_days: int | None = None) -> date:
    return add_working_days(today, min_working_days() if working_days is None else working_days)


def porting_proofs(country: str, number_type: str) -> frozenset[str]:
    """The proofs a number needs: a RIO for a French mobile; a signed document (an operator's
    bill or a mandate, PDF or image) for every other number, landlines first of all."""
    if country == "FR" and number_type == NumberType.MOBILE:
        return frozenset({"rio"})
    return frozenset({"document"})


def detect_document_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from a file's first bytes, or None when it is no PDF or image."""
    for magic, content_type, extension in _SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


# --- checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Document:
    file: File
    name: str
    content_type: str
    extension: str
    size: int


def _check_document(document: File | IO[bytes] | bytes) -> _Document:
    """The size cap first (from the upload's size, without reading it), then the content."""
    limit = document_max_bytes()
    if isinstance(document, bytes | bytearray):
        document = ContentFile(bytes(document), name="document")
    elif not isinstance(document, File):
        document = File(document, name=getattr(document, "name", "document"))
    size = document.size
    if size is not None and size > limit:
        raise ValidationError(
            {
                "document": ValidationError(
                    f"The document is {size / 1024 / 1024:.1f} MB; the limit is "
                    f"{limit / 1024 / 1024:.0f} MB.",
                    code="document_too_large",
                )
            }
        )
    if not size:
        raise ValidationError(
            {"document": ValidationError("The document is empty.", code="invalid_document")}
        )
    document.seek(0)
    head = document.read(16)
    document.seek(0)
    kind = detect_document_type(head)
    if kind is None:
        raise ValidationError(
            {
                "document": ValidationError(
                    "The document must be a PDF or an image (PNG, JPEG or WebP).",
                    code="invalid_document",
                )
            }
        )
    name = (getattr(document, "name", "") or "document").rsplit("/", 1)[-1][:200]
    return _Document(file=document, name=name, content_type=kind[0], extension=kind[1], size=size)


def _collect(found: dict, call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except ValidationError as exc:
        exc.update_error_dict(found)
        return None


def _field_error(found: dict, field: str, message: str, code: str) -> None:
    ValidationError({field: ValidationError(message, code=code)}).update_error_dict(found)


def _ensure_not_active(found: dict, e164: str) -> None:
    """`number_already_active`: live here (held, porting or in quarantine), already being
    ported, or one of our own available numbers (assign it instead)."""
    if PortingRequest.objects.filter(
        e164=e164, status__in=(PortingStatus.SUBMITTED, PortingStatus.ACCEPTED)
    ).exists():
        _field_error(
            found,
            "e164",
            "A porting request for this number is already open.",
            "number_already_active",
        )
    elif PhoneNumber.objects.filter(e164=e164).exclude(status=NumberStatus.RELEASED).exists():
        _field_error(
            found,
            "e164",
            "This number is already active here; it cannot be ported in.",
            "number_already_active",
        )
    elif carrier().is_available(e164=e164):
        _field_error(
            found,
            "e164",
            "This number is available from us: assign it instead of porting it.",
            "number_already_active",
        )


# --- create ---------------------------------------------------------------------------------


@transaction.atomic
def porting_request_create(
    *,
    organisation: Organisation,
    actor,
    e164: str,
    number_type: str,
    member,
    porting_date: date,
    rio: str | None = None,
    document=None,
    licence_type: LicenceType | None = None,
    at: datetime | None = None,
) -> PortingRequest:
    """Submit a porting request and reserve its licence slot (rules 1-5, 18 and 20).

    Field errors (400) are gathered and raised together: `invalid_number`, `invalid_choice`
    (type), `number_already_active`, `rio_required`, `invalid_rio`, `document_required`,
    `document_too_large`, `invalid_document`, `porting_date_too_soon`. Then, under the
    organisation's lock, the domain errors (409): `account_restricted`,
    `plan_number_limit_reached`, `no_licence_available`. The returned request carries
    `purchase_invoice` (not stored): the invoice of a licence bought for it, or None.
    """
    at = at or timezone.now()
    found: dict = {}
    parsed = None
    if number_type not in NumberType.values:
        _field_error(found, "type", "The type is mobile, landline or toll_free.", "invalid_choice")
    else:
        parsed = _collect(found, parse_number, e164, declared_type=number_type)
    if parsed is not None:
        _ensure_not_active(found, parsed.e164)
    proofs = porting_proofs(parsed.country, parsed.number_type) if parsed else frozenset()
    clean_rio = ""
    if "rio" in proofs:
        clean_rio = _collect(found, validate_rio, rio, e164=parsed.e164) or ""
    checked_document = None
    if document is not None:
        checked_document = _collect(found, _check_document, document)
    elif "document" in proofs:
        _field_error(
            found,
            "document",
            "Porting this number needs a document: a recent bill "
            "from the current operator or a signed mandate (PDF or image).",
            "document_required",
        )
    if not isinstance(porting_date, date) or isinstance(porting_date, datetime):
        _field_error(found, "porting_date", "Give the wished porting date.", "required")
    else:
        earliest = earliest_porting_date(organisation_today(organisation, at=at))
        if porting_date < earliest:
            _field_error(
                found,
                "porting_date",
                f"A number can be ported {min_working_days()} working days ahead at "
                f"the earliest: {earliest:%d %b %Y} or later.",
                "porting_date_too_soon",
            )
    if found:
        raise ValidationError(found)

    org = organisation_for_update(organisation.pk)
    check_assignee(org, member, None)
    ensure_not_restricted(org, at=at)
    licence, obtained = licence_for_new_number(
        org,
        member=member,
        line=None,
        number_type=parsed.number_type,
        licence_type=licence_type,
        actor=actor,
        at=at,
    )
    counted = receiving_counts_as_change(
        numbers_received=licence.numbers_received, capacity=licence.licence_type.number_capacity
    )
    licence_receive_number(licence)
    request = PortingRequest(
        organisation=org,
        e164=parsed.e164,
        country=parsed.country,
        number_type=parsed.number_type,
        member=member,
        porting_date=porting_date,
        rio=clean_rio,
        licence=licence,
        counted_as_change=counted,
        created_at=at,
        updated_at=at,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    try:
        with transaction.atomic():
            request.number = PhoneNumber.objects.create(
                organisation=org,
                e164=parsed.e164,
                country=parsed.country,
                number_type=parsed.number_type,
                status=NumberStatus.PORTING,
                licence=licence,
                created_at=at,
            )
            request.save(force_insert=True)
    except IntegrityError as exc:  # another request or organisation took it meanwhile
        raise ValidationError(
            {
                "e164": ValidationError(
                    "This number is already active here or being ported.",
                    code="number_already_active",
                )
            }
        ) from exc
    if checked_document is not None:
        # Written last, once every check has passed; named after the request and its type.
        request.document_name = checked_document.name
        request.document_content_type = checked_document.content_type
        request.document_size = checked_document.size
        request.document.save(
            f"{request.pk}{checked_document.extension}", checked_document.file, save=False
        )
        request.save(
            update_fields=["document", "document_name", "document_content_type", "document_size"]
        )
    _record(
        request,
        from_status="",
        actor=actor,
        at=at,
        note=f"Slot reserved on licence {licence.pk}"
        + (" (bought)" if obtained.purchased else "")
        + (" (scheduled for removal, restored at no charge)" if obtained.restored else "")
        + ".",
    )
    case = _case(request, org, at)
    transaction.on_commit(lambda: carrier().porting_submit(case=case))
    request.purchase_invoice = obtained.invoice
    return request


# --- transitions ----------------------------------------------------------------------------


def _case(request: PortingRequest, organisation: Organisation, at: datetime) -> PortingCase:
    return PortingCase(
        reference=str(request.pk),
        e164=request.e164,
        number_type=request.number_type,
        status=request.status,
        submitted_on=local_date(request.created_at, organisation.timezone),
        porting_date=request.confirmed_date or request.porting_date,
        today=organisation_today(organisation, at=at),
        rio=request.rio,
    )


def _record(
    request: PortingRequest, *, from_status: str, actor, at: datetime, note: str = ""
) -> None:
    PortingEvent.objects.create(
        porting_request=request,
        organisation_id=request.organisation_id,
        from_status=from_status,
        to_status=request.status,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(actor) if actor is not None else "carrier",
        note=note,
        created_at=at,
    )
    audit_record(
        organisation=request.organisation,
        actor=actor,
        action=f"porting.{request.status}",
        target=request,
        changes={"from": from_status or None, "to": request.status, "note": note or None},
    )


def _lock(porting_request: PortingRequest) -> tuple[Organisation, PortingRequest]:
    org = organisation_for_update(porting_request.organisation_id)
    request = (
        PortingRequest.objects.select_for_update(of=("self",))
        .select_related("organisation", "number", "licence__licence_type")
        .get(pk=porting_request.pk, organisation=org)
    )
    return org, request


def _move(
    request: PortingRequest,
    to_status: str,
    *,
    actor,
    at: datetime,
    note: str = "",
    refused: type[errors.DomainError] = PortingStatusConflict,
) -> str:
    if to_status not in _NEXT.get(request.status, set()):
        raise refused(f"This porting request is {request.status}; it cannot become {to_status}.")
    before = request.status
    request.status = to_status
    request.updated_at = at
    if to_status in (PortingStatus.COMPLETED, PortingStatus.REJECTED, PortingStatus.CANCELLED):
        request.closed_at = at
    return before


def _release_reservation(request: PortingRequest, at: datetime) -> None:
    """The number never arrives: its row is released and the licence gets its slot back, and
    the change it was counted as (rule 8). The licence itself stays, assigned and billed."""
    number = PhoneNumber.objects.select_for_update().get(pk=request.number_id)
    number.status = NumberStatus.RELEASED
    number.licence = None
    number.released_at = at
    number.save(update_fields=["status", "licence", "released_at"])
    licence = Licence.objects.select_for_update(of=("self",)).get(pk=request.licence_id)
    licence.numbers_received = max(0, licence.numbers_received - 1)
    if request.counted_as_change:
        licence.number_changes_used = max(0, licence.number_changes_used - 1)
    licence.save(update_fields=["numbers_received", "number_changes_used"])


def _accept(request, *, actor, at, porting_date: date | None, note: str) -> None:
    before = _move(request, PortingStatus.ACCEPTED, actor=actor, at=at)
    request.confirmed_date = porting_date or request.porting_date
    request.save(update_fields=["status", "updated_at", "confirmed_date"])
    _record(
        request,
        from_status=before,
        actor=actor,
        at=at,
        note=note or f"Porting date confirmed: {request.confirmed_date:%d %b %Y}.",
    )


def _complete(request, *, actor, at, note: str) -> None:
    before = _move(request, PortingStatus.COMPLETED, actor=actor, at=at)
    request.save(update_fields=["status", "updated_at", "closed_at"])
    number = PhoneNumber.objects.select_for_update().get(pk=request.number_id)
    number.status = NumberStatus.ASSIGNED
    number.assigned_at = at
    number.save(update_fields=["status", "assigned_at"])
    licence = Licence.objects.select_related("base_licence").get(pk=number.licence_id)
    history_open(number, licence, at)
    carrier().porting_complete(case=_case(request, request.organisation, at))
    _record(request, from_status=before, actor=actor, at=at, note=note)


def _reject(request, *, actor, at, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {
                "rejection_reason": ValidationError(
                    "Say why the porting was rejected.", code="required"
                )
            }
        )
    before = _move(request, PortingStatus.REJECTED, actor=actor, at=at)
    request.rejection_reason = reason
    request.save(update_fields=["status", "updated_at", "closed_at", "rejection_reason"])
    _release_reservation(request, at)
    _record(request, from_status=before, actor=actor, at=at, note=reason)


def _cancel(request, *, actor, at, note: str = "") -> None:
    before = _move(
        request, PortingStatus.CANCELLED, actor=actor, at=at, refused=errors.PortingNotCancellable
    )
    request.save(update_fields=["status", "updated_at", "closed_at"])
    _release_reservation(request, at)
    _record(request, from_status=before, actor=actor, at=at, note=note)
    case = _case(request, request.organisation, at)
    transaction.on_commit(lambda: carrier().porting_cancel(case=case))


@transaction.atomic
def porting_request_accept(
    *,
    porting_request: PortingRequest,
    actor=None,
    porting_date: date | None = None,
    note: str = "",
    at: datetime | None = None,
) -> PortingRequest:
    """The losing operator confirmed the date (the wished one unless it names another)."""
    at = at or timezone.now()
    _org, request = _lock(porting_request)
    _accept(request, actor=actor, at=at, porting_date=porting_date, note=note)
    return request


@transaction.atomic
def porting_request_complete(
    *,
    porting_request: PortingRequest,
    actor=None,
    note: str = "",
    at: datetime | None = None,
) -> PortingRequest:
    """The number arrived: it is assigned to the member on the reserved licence (rule 20)."""
    at = at or timezone.now()
    _org, request = _lock(porting_request)
    _complete(request, actor=actor, at=at, note=note)
    return request


@transaction.atomic
def porting_request_reject(
    *,
    porting_request: PortingRequest,
    reason: str,
    actor=None,
    at: datetime | None = None,
) -> PortingRequest:
    """The losing operator refused: the reason is kept and the reservation released."""
    at = at or timezone.now()
    _org, request = _lock(porting_request)
    _reject(request, actor=actor, at=at, reason=reason)
    return request


@transaction.atomic
def porting_request_cancel(
    *,
    porting_request: PortingRequest,
    actor,
    note: str = "",
    at: datetime | None = None,
) -> PortingRequest:
    """The organisation withdraws its request; `porting_not_cancellable` once it is completed,
    rejected or cancelled. The reservation is released."""
    at = at or timezone.now()
    _org, request = _lock(porting_request)
    _cancel(request, actor=actor, at=at, note=note)
    return request


def porting_requests_cancel_open_locked(
    *, organisation: Organisation, actor, at: datetime, note: str
) -> int:
    """Cancel every open request of an organisation whose lock the caller holds (closing)."""
    requests = list(
        PortingRequest.objects.select_for_update(of=("self",))
        .select_related("organisation", "number")
        .filter(
            organisation=organisation, status__in=(PortingStatus.SUBMITTED, PortingStatus.ACCEPTED)
        )
        .order_by("pk")
    )
    for request in requests:
        _cancel(request, actor=actor, at=at, note=note)
    return len(requests)


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


# --- reads ----------------------------------------------------------------------------------


def porting_request_list(*, organisation: Organisation | None, member=None):
    """Porting requests of an organisation (all of them for platform staff with None)."""
    qs = PortingRequest.objects.select_related("member", "licence__licence_type", "number")
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    if member is not None:
        qs = qs.filter(member=member)
    return qs


def porting_events(*, porting_request: PortingRequest):
    return PortingEvent.objects.filter(porting_request=porting_request).select_related("actor")


@dataclass(frozen=True)
class PortingDocument:
    file: File  # opened for reading; the caller streams and closes it
    filename: str
    content_type: str
    size: int | None


def porting_document_open(
    *, organisation: Organisation | None, porting_request_id
) -> PortingDocument:
    """The request's document, only for its own organisation (None: platform staff).

    Another organisation's request, or one without a document, raises `DoesNotExist` (a 404
    that does not confirm the request exists).
    """
    request = porting_request_list(organisation=organisation).get(pk=porting_request_id)
    if not request.document:
        raise ObjectDoesNotExist("This porting request has no document.")
    extension = request.document.name.rsplit(".", 1)[-1]
    stem = request.document_name.rsplit(".", 1)[0] if request.document_name else "document"
    return PortingDocument(
        file=request.document.open("rb"),
        filename=f"{stem}.{extension}",
        content_type=request.document_content_type or "application/octet-stream",
        size=request.document_size,
    )
