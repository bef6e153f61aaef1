"""Numbers: assign, reassign, change, delete into quarantine, recover, release (rules 1-10).

Every public function is one transaction that locks the organisation row first
(`telecom.locks`), so licence-slot decisions of one organisation are serialised, then the rows it
changes. Numbers come from and go back to the carrier boundary (`numbering.carriers`).
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.models import Invoice
from billing.selectors import organisation_today
from licensing.models import LINE_DEFAULT_LICENCE_TYPE, Licence, LicenceStatus, LicenceType
from licensing.services import check_assignee, ensure_not_restricted, licence_obtain_locked
from numbering.capacity import has_changes_left, has_free_slot, receiving_counts_as_change
from numbering.carriers import carrier
from numbering.models import (
    HELD_STATUSES,
    NumberAssignment,
    NumberStatus,
    NumberType,
    PhoneNumber,
)
from numbering.phone import SUPPORTED_COUNTRIES, parse_number
from numbering.selectors import number_holder, numbers_held_by
from telecom import errors
from telecom.locks import organisation_for_update


@dataclass(frozen=True)
class AssignResult:
    number: PhoneNumber
    licence: Licence
    licence_purchased: bool
    invoice: Invoice | None


# --- checks ---------------------------------------------------------------------------------


def _validate_kind(country: str, number_type: str) -> tuple[str, str]:
    country = (country or "").upper()
    if country not in SUPPORTED_COUNTRIES:
        raise ValidationError({"country": ValidationError(
            f"Numbers are offered in {', '.join(SUPPORTED_COUNTRIES)}.", code="invalid_choice")})
    if number_type not in NumberType.values:
        raise ValidationError({"type": ValidationError(
            "The type is mobile, landline or toll_free.", code="invalid_choice")})
    return country, number_type


def _ensure_under_plan_cap(organisation: Organisation, member, *, adding: int = 1) -> None:
    """Rule 5: a member holds at most the plan's numbers-per-member cap."""
    if member is None:
        return
    held = numbers_held_by(member=member).count()
    if held + adding > organisation.max_numbers_per_member:
        raise errors.PlanNumberLimitReached(
            f"{member} already holds {held} number(s); the {organisation.plan} plan allows "
            f"{organisation.max_numbers_per_member} per member."
        )


def _held_by_type(licence: Licence) -> Counter:
    return Counter(
        licence.numbers.filter(status__in=HELD_STATUSES).values_list("number_type", flat=True)
    )


def _can_receive(licence: Licence, number_type: str, held: Counter | None = None) -> bool:
    capacity = licence.licence_type.number_capacity
    held = _held_by_type(licence) if held is None else held
    return has_free_slot(capacity, held, number_type) and has_changes_left(
        numbers_received=licence.numbers_received,
        changes_used=licence.number_changes_used,
        max_changes=licence.licence_type.max_number_changes,
        capacity=capacity,
    )


def _holder_licences_with_slot(organisation, member, line, number_type) -> Licence | None:
    """Rule 2, first choice: a licence the member (or line) already holds with a free slot for
    this type and changes left; base licences before their add-ons, oldest first."""
    holder = (Q(member=member) | Q(base_licence__member=member)) if member else (
        Q(line=line) | Q(base_licence__line=line))
    candidates = (
        Licence.objects.filter(holder, organisation=organisation, status=LicenceStatus.ACTIVE)
        .select_related("licence_type")
        .annotate(
            held_mobile=Count("numbers", filter=Q(numbers__status__in=HELD_STATUSES,
                                                  numbers__number_type=NumberType.MOBILE)),
            held_landline=Count("numbers", filter=Q(numbers__status__in=HELD_STATUSES,
                                                    numbers__number_type=NumberType.LANDLINE)),
            held_toll_free=Count("numbers", filter=Q(numbers__status__in=HELD_STATUSES,
                                                     numbers__number_type=NumberType.TOLL_FREE)),
        )
        .order_by("base_licence_id", "purchased_at", "pk")
    )
    for licence in candidates:
        held = Counter({NumberType.MOBILE: licence.held_mobile,
                        NumberType.LANDLINE: licence.held_landline,
                        NumberType.TOLL_FREE: licence.held_toll_free})
        if _can_receive(licence, number_type, +held):
            return licence
    return None


def _default_licence_type(organisation, line) -> LicenceType:
    if line is not None:
        return LicenceType.objects.get(code=LINE_DEFAULT_LICENCE_TYPE[line.kind])
    return organisation.default_licence_type or LicenceType.objects.get(code="user_standard")


def _licence_for_new_number(
    org, *, member, line, number_type, licence_type, licence, actor, at
) -> tuple[Licence, Invoice | None]:
    """Rule 2: the given licence, else a held one with a slot, else a free one, else rule 1."""
    if licence is not None:
        if licence.organisation_id != org.pk:
            raise Licence.DoesNotExist()
        licence = Licence.objects.select_for_update(of=("self",)).select_related(
            "licence_type").get(pk=licence.pk)
        if licence.status != LicenceStatus.ACTIVE:
            raise errors.LicenceNotActive()
        owner_member, owner_line = (
            (licence.base_licence.member, licence.base_licence.line)
            if licence.base_licence_id else (licence.member, licence.line)
        )
        free = owner_member is None and owner_line is None and not licence.base_licence_id
        if not free and (owner_member != member or owner_line != line):
            raise errors.LicenceFull("This licence is held by someone else.")
        held = _held_by_type(licence)
        if free and held:
            raise errors.LicenceFull("This licence still holds numbers; reassign them with it.")
        _ensure_can_receive(licence, number_type, held)
        if free:
            licence.member, licence.line = member, line
            licence.save(update_fields=["member", "line"])
        return licence, None

    held_licence = _holder_licences_with_slot(org, member, line, number_type)
    if held_licence is not None:
        return held_licence, None

    licence_type = licence_type or _default_licence_type(org, line)
    if not has_free_slot(licence_type.number_capacity, Counter(), number_type):
        raise errors.LicenceFull(
            f"A {licence_type.name} licence cannot hold a {number_type.replace('_', ' ')} number."
        )
    licence, invoice = licence_obtain_locked(
        organisation=org, licence_type=licence_type, actor=actor, at=at,
        accept=lambda candidate: _can_receive(candidate, number_type, Counter()),
    )
    licence.member, licence.line = member, line
    licence.save(update_fields=["member", "line"])
    return licence, invoice


def _ensure_can_receive(licence: Licence, number_type: str, held: Counter | None = None) -> None:
    capacity = licence.licence_type.number_capacity
    held = _held_by_type(licence) if held is None else held
    if not has_free_slot(capacity, held, number_type):
        raise errors.LicenceFull(
            f"This {licence.licence_type.name} licence has no free slot for a "
            f"{number_type.replace('_', ' ')} number."
        )
    if not has_changes_left(
        numbers_received=licence.numbers_received, changes_used=licence.number_changes_used,
        max_changes=licence.licence_type.max_number_changes, capacity=capacity,
    ):
        raise errors.NumberChangeLimitReached(
            f"This licence has used its {licence.licence_type.max_number_changes} number changes."
        )


def _receive(licence: Licence) -> None:
    """Count a number arriving on a licence (rule 8)."""
    if receiving_counts_as_change(numbers_received=licence.numbers_received,
                                  capacity=licence.licence_type.number_capacity):
        licence.number_changes_used += 1
    licence.numbers_received += 1
    licence.save(update_fields=["numbers_received", "number_changes_used"])


def _open_history(number: PhoneNumber, licence: Licence, at: datetime) -> None:
    owner = licence.base_licence if licence.base_licence_id else licence
    NumberAssignment.objects.create(
        number=number, organisation_id=number.organisation_id, licence=licence,
        member=owner.member, line=owner.line, started_at=at,
    )


def _close_history(number: PhoneNumber, at: datetime) -> None:
    NumberAssignment.objects.filter(number=number, ended_at__isnull=True).update(ended_at=at)


def history_follow_licence(*, licence: Licence, at: datetime | None = None) -> None:
    """The licence's assignee changed: its numbers' history moves with it (rules 7 and 9)."""
    at = at or timezone.now()
    numbers = list(PhoneNumber.objects.filter(
        Q(licence=licence) | Q(licence__base_licence=licence), status__in=HELD_STATUSES))
    for number in numbers:
        _close_history(number, at)
        _open_history(number, number.licence, at)


def _lock_number(number: PhoneNumber) -> PhoneNumber:
    return (
        PhoneNumber.objects.select_for_update(of=("self",))
        .select_related("licence__licence_type", "licence__base_licence")
        .get(pk=number.pk, organisation_id=number.organisation_id)
    )


def _place(org, licence, *, e164, country, number_type, at) -> PhoneNumber:
    try:
        with transaction.atomic():
            number = PhoneNumber.objects.create(
                organisation=org, e164=e164, country=country, number_type=number_type,
                status=NumberStatus.ASSIGNED, licence=licence, assigned_at=at,
            )
    except IntegrityError as exc:  # the number is live elsewhere (one live row per number)
        raise errors.NumberUnavailable(f"{e164} is already in use.") from exc
    _receive(licence)
    _open_history(number, licence, at)
    return number


# --- assign -----------------------------------------------------------------------------------


@transaction.atomic
def number_assign(
    *, organisation: Organisation, actor, country: str, number_type: str, member=None,
    line=None, e164: str | None = None, licence_type: LicenceType | None = None,
    licence: Licence | None = None, at: datetime | None = None,
) -> AssignResult:
    """Give a member or line a new number through a licence (rules 1-5 and 18)."""
    at = at or timezone.now()
    country, number_type = _validate_kind(country, number_type)
    if e164:
        e164 = parse_number(e164, declared_type=number_type, country=country).e164
    org = organisation_for_update(organisation.pk)
    check_assignee(org, member, line)
    ensure_not_restricted(org, at=at)
    _ensure_under_plan_cap(org, member)
    target, invoice = _licence_for_new_number(
        org, member=member, line=line, number_type=number_type, licence_type=licence_type,
        licence=licence, actor=actor, at=at,
    )
    e164 = carrier().reserve(country=country, number_type=number_type, e164=e164)
    number = _place(org, target, e164=e164, country=country, number_type=number_type, at=at)
    audit_record(
        organisation=org, actor=actor, action="number.assigned", target=number,
        changes={"licence": str(target.pk), "member": str(member) if member else None,
                 "line": str(line) if line else None, "licence_purchased": invoice is not None},
    )
    return AssignResult(number=number, licence=target, licence_purchased=invoice is not None,
                        invoice=invoice)


# --- reassign, change, delete, recover --------------------------------------------------------


@transaction.atomic
def number_reassign(
    *, number: PhoneNumber, actor, member=None, line=None, at: datetime | None = None
) -> PhoneNumber:
    """Rule 7: the licence moves with the number when it holds only this number; otherwise the
    number moves to a slot of the target's licences by rule 2. Rule 5 applies to the target."""
    at = at or timezone.now()
    org = organisation_for_update(number.organisation_id)
    number = _lock_number(number)
    check_assignee(org, member, line)
    if number.status != NumberStatus.ASSIGNED:
        raise errors.NumberUnavailable("Only an assigned number can be reassigned.")
    current_member, current_line = number_holder(number)
    if (current_member, current_line) == (member, line):
        return number
    _ensure_under_plan_cap(org, member)
    licence = Licence.objects.select_for_update(of=("self",)).select_related(
        "licence_type").get(pk=number.licence_id)
    only_this = not licence.base_licence_id and not licence.numbers.filter(
        status__in=HELD_STATUSES).exclude(pk=number.pk).exists()
    if only_this:
        licence.member, licence.line = member, line
        licence.save(update_fields=["member", "line"])
        history_follow_licence(licence=licence, at=at)
    else:
        target, _ = _licence_for_new_number(
            org, member=member, line=line, number_type=number.number_type, licence_type=None,
            licence=None, actor=actor, at=at,
        )
        _close_history(number, at)
        number.licence = target
        number.save(update_fields=["licence"])
        _receive(target)
        _open_history(number, target, at)
    audit_record(
        organisation=org, actor=actor, action="number.reassigned", target=number,
        changes={"from": str(current_member or current_line),
                 "to": str(member or line), "licence_moved": only_this},
    )
    return number


def _quarantine(number: PhoneNumber, at: datetime) -> None:
    today = organisation_today(number.organisation, at=at)
    number.status = NumberStatus.QUARANTINED
    number.licence = None
    number.quarantined_at = at
    number.quarantine_ends_on = today + dt.timedelta(days=settings.NUMBER_QUARANTINE_DAYS)
    number.save(update_fields=["status", "licence", "quarantined_at", "quarantine_ends_on"])
    _close_history(number, at)


@transaction.atomic
def number_change(
    *, number: PhoneNumber, actor, e164: str | None = None, at: datetime | None = None
) -> PhoneNumber:
    """Rule 8: a new number in place of the old on the same licence, free, within its limit.

    The old number goes into quarantine as a deleted one does (rule 6).
    """
    at = at or timezone.now()
    org = organisation_for_update(number.organisation_id)
    number = _lock_number(number)
    if number.status != NumberStatus.ASSIGNED:
        raise errors.NumberUnavailable("Only an assigned number can be changed.")
    if e164:
        e164 = parse_number(e164, declared_type=number.number_type, country=number.country).e164
    licence = Licence.objects.select_for_update(of=("self",)).select_related(
        "licence_type", "base_licence").get(pk=number.licence_id)
    old = number.e164
    _quarantine(number, at)
    _ensure_can_receive(licence, number.number_type)
    new_e164 = carrier().reserve(country=number.country, number_type=number.number_type,
                                 e164=e164)
    new = _place(org, licence, e164=new_e164, country=number.country,
                 number_type=number.number_type, at=at)
    audit_record(organisation=org, actor=actor, action="number.changed", target=new,
                 changes={"from": old, "to": new.e164, "licence": str(licence.pk),
                          "changes_used": licence.number_changes_used})
    return new


@transaction.atomic
def number_delete(*, number: PhoneNumber, actor, at: datetime | None = None) -> PhoneNumber:
    """Rule 6: the slot is freed, the licence stays assigned and billed; the number is
    quarantined (30 days by default) before it returns to the inventory."""
    at = at or timezone.now()
    org = organisation_for_update(number.organisation_id)
    number = _lock_number(number)
    if number.status != NumberStatus.ASSIGNED:
        raise errors.NumberUnavailable("Only an assigned number can be deleted.")
    licence_id = number.licence_id
    _quarantine(number, at)
    audit_record(organisation=org, actor=actor, action="number.deleted", target=number,
                 changes={"licence": str(licence_id),
                          "quarantine_ends_on": number.quarantine_ends_on.isoformat()})
    return number


@transaction.atomic
def number_recover(
    *, number: PhoneNumber, actor, member=None, line=None, at: datetime | None = None
) -> PhoneNumber:
    """Rule 6: platform staff bring a quarantined number back to the same organisation, to its
    last holder unless another is named, through a licence by rule 2."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only platform staff can recover a quarantined number.")
    at = at or timezone.now()
    org = organisation_for_update(number.organisation_id)
    number = _lock_number(number)
    if number.status != NumberStatus.QUARANTINED:
        raise errors.NumberUnavailable("Only a quarantined number can be recovered.")
    if member is None and line is None:
        last = NumberAssignment.objects.filter(number=number).order_by("-started_at").first()
        member, line = (last.member, last.line) if last else (None, None)
        if member is not None and not member.is_active and member.status == "deactivated":
            member = None
        if member is None and line is None:
            raise ValidationError({"member": ValidationError(
                "Name the member or line to recover the number to.", code="required")})
    check_assignee(org, member, line)
    _ensure_under_plan_cap(org, member)
    target, _ = _licence_for_new_number(
        org, member=member, line=line, number_type=number.number_type, licence_type=None,
        licence=None, actor=actor, at=at,
    )
    number.status = NumberStatus.ASSIGNED
    number.licence = target
    number.assigned_at = at
    number.quarantined_at = number.quarantine_ends_on = None
    number.save(update_fields=["status", "licence", "assigned_at", "quarantined_at",
                               "quarantine_ends_on"])
    _receive(target)
    _open_history(number, target, at)
    audit_record(organisation=org, actor=actor, action="number.recovered", target=number,
                 changes={"to": str(member or line)})
    return number


@transaction.atomic
def numbers_release_quarantined(*, at: datetime | None = None, limit: int = 1000) -> int:
    """Rule 6: numbers whose quarantine has ended go back to the inventory. Idempotent."""
    at = at or timezone.now()
    due = list(
        PhoneNumber.objects.select_for_update(skip_locked=True)
        .select_related("organisation")
        .filter(status=NumberStatus.QUARANTINED,
                quarantine_ends_on__lte=at.date() + dt.timedelta(days=1))
        .order_by("pk")[:limit]
    )
    released = 0
    backend = carrier()
    for number in due:
        if number.quarantine_ends_on > organisation_today(number.organisation, at=at):
            continue
        number.status = NumberStatus.RELEASED
        number.released_at = at
        number.save(update_fields=["status", "released_at"])
        backend.release(e164=number.e164, country=number.country,
                        number_type=number.number_type)
        audit_record(organisation=number.organisation, actor=None, action="number.released",
                     target=number)
        released += 1
    return released
