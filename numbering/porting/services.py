"""Porting requests (rule 20): submitted with their proofs and a reserved licence slot (the
allocation engine, `numbering.allocation`, rules 1-5 and 13), then accepted, completed, rejected
or cancelled; every transition writes a `PortingEvent` and an audit row."""

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.periods import local_date
from billing.selectors import organisation_today
from licensing.models import Licence, LicenceType
from licensing.services import check_assignee, ensure_not_restricted
from numbering.allocation import Allocation, licence_for_new_number, licence_receive_number
from numbering.capacity import receiving_counts_as_change
from numbering.carriers import PortingCase, carrier
from numbering.models import (
    NumberStatus,
    NumberType,
    PhoneNumber,
    PortingEvent,
    PortingRequest,
    PortingStatus,
)
from numbering.phone import parse_number
from numbering.porting.rules import (
    _NEXT,
    PortingStatusConflict,
    _check_document,
    earliest_porting_date,
    min_working_days,
    porting_proofs,
)
from numbering.rio import validate_rio
from numbering.services import NumberPreview, history_open
from telecom import errors
from telecom.locks import organisation_for_update


def _collect(found: dict, call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except ValidationError as exc:
        exc.update_error_dict(found)
        return None


def _field_error(found: dict, field: str, message: str, code: str) -> None:
    ValidationError({field: ValidationError(message, code=code)}).update_error_dict(found)


NOT_AVAILABLE = "This number is not available."
PORTING_MAX_DAYS_AHEAD = 365  # a wished date further ahead is a typing mistake (9999-12-31)


def _ensure_not_active(found: dict, e164: str, organisation=None) -> None:
    """`number_already_active`: live here (held, porting or in quarantine), already being
    ported, or one of our own available numbers (assign it instead). Whether another
    organisation holds or ports the number is never said: "This number is not available."
    (docs/security.md, "Enumeration")."""
    org_id = getattr(organisation, "pk", None)
    open_requests = PortingRequest.objects.filter(
        e164=e164, status__in=(PortingStatus.SUBMITTED, PortingStatus.ACCEPTED)
    )
    live = PhoneNumber.objects.filter(e164=e164).exclude(status=NumberStatus.RELEASED)
    if open_requests.filter(organisation_id=org_id).exists():
        _field_error(
            found,
            "e164",
            "A porting request for this number is already open.",
            "number_already_active",
        )
    elif live.filter(organisation_id=org_id).exists():
        _field_error(
            found,
            "e164",
            "This number is already active here; it cannot be ported in.",
            "number_already_active",
        )
    elif open_requests.exists() or live.exists():
        _field_error(found, "e164", NOT_AVAILABLE, "number_already_active")
    elif carrier().is_available(e164=e164):
        _field_error(
            found,
            "e164",
            "This number is available from us: assign it instead of porting it.",
            "number_already_active",
        )


# --- create ---------------------------------------------------------------------------------


def _checked(
    organisation: Organisation,
    *,
    e164: str,
    number_type: str,
    porting_date: date,
    rio: str | None,
    document,
    at: datetime,
):
    """The request's field checks (400), gathered and raised together: the number parsed, the
    RIO cleaned and the document checked, for `porting_request_create` and its preview."""
    found: dict = {}
    parsed = None
    if number_type not in NumberType.values:
        _field_error(found, "type", "The type is mobile, landline or toll_free.", "invalid_choice")
    else:
        parsed = _collect(found, parse_number, e164, declared_type=number_type)
    if parsed is not None:
        _ensure_not_active(found, parsed.e164, organisation)
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
        elif porting_date > earliest + timedelta(days=PORTING_MAX_DAYS_AHEAD):
            _field_error(
                found,
                "porting_date",
                f"A number can be ported at most a year ahead: {earliest:%d %b %Y} to "
                f"{earliest + timedelta(days=PORTING_MAX_DAYS_AHEAD):%d %b %Y}.",
                "out_of_range",
            )
    if found:
        raise ValidationError(found)
    return parsed, clean_rio, checked_document


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
    parsed, clean_rio, checked_document = _checked(
        organisation,
        e164=e164,
        number_type=number_type,
        porting_date=porting_date,
        rio=rio,
        document=document,
        at=at,
    )
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
                    NOT_AVAILABLE,
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


def porting_request_preview(
    *,
    organisation: Organisation,
    e164: str,
    number_type: str,
    member,
    porting_date: date,
    rio: str | None = None,
    document=None,
    licence_type: LicenceType | None = None,
    at: datetime | None = None,
) -> NumberPreview:
    """What `porting_request_create` would do now, read without writing (the console's review):
    the same field checks, then the same allocation decisions (`numbering.allocation`, rules
    1-5, 13 and 18) read-only: which licence the reservation takes ("held", "free"), or the one
    restored at no charge ("restore") or bought ("purchase") with its `quote`, the invoice's own
    arithmetic. Field errors raise a ValidationError, a rule's refusal its DomainError."""
    at = at or timezone.now()
    parsed, _rio, _document = _checked(
        organisation,
        e164=e164,
        number_type=number_type,
        porting_date=porting_date,
        rio=rio,
        document=document,
        at=at,
    )
    check_assignee(organisation, member, None)
    ensure_not_restricted(organisation, at=at)
    allocation = Allocation(organisation, [(member, None)], at=at, lock=False)
    pick = allocation.choose(
        member=member, line=None, number_type=parsed.number_type, licence_type=licence_type
    )
    quote = allocation.preview(pick, parsed.number_type)
    return NumberPreview(
        source=pick.source, licence=pick.licence, licence_type=pick.licence_type, quote=quote
    )


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
