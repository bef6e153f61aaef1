"""Assigning new numbers, one or a batch (rules 1-5 and 18), through the allocation engine
(`numbering.allocation`): one organisation lock and a fixed number of statements whatever the
batch's size."""

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_event
from accounts.models import AuditEvent, Organisation
from billing.models import Invoice
from licensing.models import Licence, LicenceType
from licensing.services import (
    check_assignee,
    ensure_not_restricted,
)
from numbering.allocation import (
    RECEIVED_FIELDS,
    Allocation,
    NumberRequest,
    for_request,
    licence_receive_number,
)
from numbering.carriers import carrier
from numbering.models import (
    NumberAssignment,
    NumberStatus,
    NumberType,
    PhoneNumber,
)
from numbering.phone import SUPPORTED_COUNTRIES, parse_number
from numbering.services.history import _history_row, history_open
from telecom import errors
from telecom.bulk import update_from_arrays
from telecom.locks import organisation_for_update


@dataclass(frozen=True)
class AssignResult:
    number: PhoneNumber
    licence: Licence
    licence_purchased: bool
    invoice: Invoice | None
    licence_restored: bool = False  # a licence scheduled for removal, restored at no charge


# --- checks ---------------------------------------------------------------------------------


def _validate_kind(country: str, number_type: str) -> tuple[str, str]:
    country = (country or "").upper()
    if country not in SUPPORTED_COUNTRIES:
        raise ValidationError(
            {
                "country": ValidationError(
                    f"Numbers are offered in {', '.join(SUPPORTED_COUNTRIES)}.",
                    code="invalid_choice",
                )
            }
        )
    if number_type not in NumberType.values:
        raise ValidationError(
            {
                "type": ValidationError(
                    "The type is mobile, landline or toll_free.", code="invalid_choice"
                )
            }
        )
    return country, number_type


def _place(org, licence, *, e164, country, number_type, at) -> PhoneNumber:
    """Put a number on a licence. Callers are atomic and let the error out, so the refused
    insert rolls their whole transaction back: no savepoint of its own is needed."""
    try:
        number = PhoneNumber.objects.create(
            organisation=org,
            e164=e164,
            country=country,
            number_type=number_type,
            status=NumberStatus.ASSIGNED,
            licence=licence,
            assigned_at=at,
        )
    except IntegrityError as exc:  # the number is live elsewhere (one live row per number)
        raise errors.NumberUnavailable(f"{e164} is already in use.") from exc
    licence_receive_number(licence)
    history_open(number, licence, at)
    return number


# --- assign -----------------------------------------------------------------------------------


def _cleaned(request: NumberRequest) -> NumberRequest:
    country, number_type = _validate_kind(request.country, request.number_type)
    e164 = request.e164 or None
    if e164:
        e164 = parse_number(e164, declared_type=number_type, country=country).e164
    return replace(request, country=country, number_type=number_type, e164=e164)


def _reserve(requests: list[NumberRequest]) -> list[str]:
    """Take each request's number from the carrier: the one named, else the next available of
    its country and type (one statement per country and type)."""
    backend = carrier()
    wanted = Counter((r.country, r.number_type) for r in requests if not r.e164)
    taken = {
        kind: iter(backend.take(country=kind[0], number_type=kind[1], count=count))
        for kind, count in wanted.items()
    }
    return [
        backend.reserve(country=r.country, number_type=r.number_type, e164=r.e164)
        if r.e164
        else next(taken[r.country, r.number_type])
        for r in requests
    ]


def number_assign(
    *,
    organisation: Organisation,
    actor,
    country: str,
    number_type: str,
    member=None,
    line=None,
    e164: str | None = None,
    licence_type: LicenceType | None = None,
    licence: Licence | None = None,
    at: datetime | None = None,
) -> AssignResult:
    """Give a member or line a new number through a licence (rules 1-5 and 18)."""
    request = NumberRequest(
        country=country,
        number_type=number_type,
        member=member,
        line=line,
        e164=e164,
        licence_type=licence_type,
        licence=licence,
    )
    return numbers_assign(organisation=organisation, actor=actor, requests=[request], at=at)[0]


@transaction.atomic
def numbers_assign(
    *,
    organisation: Organisation,
    actor,
    requests: list[NumberRequest],
    at: datetime | None = None,
) -> list[AssignResult]:
    """Give each request's member or line a new number through a licence (rules 1-5 and 18),
    in order, all or none: the first refusal, naming whose number it was, changes nothing.

    One organisation lock and a fixed dozen statements whatever the batch's size: the holders'
    licences and the free ones are read once (`numbering.allocation.Allocation`), the numbers
    are taken from the carrier per country and type, licences that rule 1 buys go on one
    invoice, and numbers, licences, history and audit are written in bulk.
    `number_assign` is a batch of one.
    """
    at = at or timezone.now()
    requests = list(requests)
    for index, request in enumerate(requests):
        with for_request(requests, index):
            requests[index] = _cleaned(request)
    if not requests:
        return []
    org = organisation_for_update(organisation.pk)
    for index, request in enumerate(requests):
        with for_request(requests, index):
            check_assignee(org, request.member, request.line)
    ensure_not_restricted(org, at=at)
    slots = Allocation(org, [(r.member, r.line) for r in requests], window=len(requests), at=at)
    targets = slots.plan(requests)
    invoice = slots.supply.commit(actor=actor).invoice
    numbers = [
        PhoneNumber(
            organisation=org,
            e164=e164,
            country=request.country,
            number_type=request.number_type,
            status=NumberStatus.ASSIGNED,
            licence=target,
            assigned_at=at,
        )
        for request, e164, (target, _) in zip(requests, _reserve(requests), targets, strict=True)
    ]
    try:
        PhoneNumber.objects.bulk_create(numbers)
    except IntegrityError as exc:  # a number is live elsewhere (one live row per number)
        taken = numbers[0].e164 if len(numbers) == 1 else "One of the numbers"
        raise errors.NumberUnavailable(f"{taken} is already in use.") from exc
    update_from_arrays(
        Licence,
        RECEIVED_FIELDS,
        [
            (licence.pk, licence.member_id, licence.line_id, *_counters(licence))
            for licence in slots.changed.values()
        ],
    )
    NumberAssignment.objects.bulk_create(
        _history_row(number, target, at)
        for number, (target, _) in zip(numbers, targets, strict=True)
    )
    AuditEvent.objects.bulk_create(
        audit_event(
            organisation=org,
            actor=actor,
            action="number.assigned",
            target=number,
            changes={
                "licence": str(target.pk),
                "member": str(request.member) if request.member else None,
                "line": str(request.line) if request.line else None,
                "licence_purchased": source == "purchase",
                "licence_restored": source == "restore",
            },
        )
        for number, request, (target, source) in zip(numbers, requests, targets, strict=True)
    )
    return [
        AssignResult(
            number=number,
            licence=target,
            licence_purchased=source == "purchase",
            invoice=invoice if source == "purchase" else None,
            licence_restored=source == "restore",
        )
        for number, (target, source) in zip(numbers, targets, strict=True)
    ]


def _counters(licence: Licence) -> tuple[int, int]:
    return licence.numbers_received, licence.number_changes_used
