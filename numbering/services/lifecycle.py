"""A number's life after its assignment: reassign (rule 7), change (rule 8), delete into quarantine,
recover and release (rule 6)."""

import datetime as dt
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record, audit_record_many
from billing.selectors import organisation_today
from licensing.models import Licence
from licensing.services import (
    check_assignee,
)
from numbering.allocation import (
    ensure_can_receive,
    ensure_under_plan_cap,
    licence_for_new_number,
    licence_receive_number,
)
from numbering.carriers import carrier
from numbering.models import (
    NumberAssignment,
    NumberStatus,
    PhoneNumber,
)
from numbering.phone import parse_number
from numbering.selectors import number_holder
from numbering.services.assign import _place
from numbering.services.history import _close_history, history_follow_licence, history_open
from telecom import errors
from telecom.locks import organisation_for_update


def _lock_number(number: PhoneNumber) -> PhoneNumber:
    return (
        PhoneNumber.objects.select_for_update(of=("self",))
        .select_related("licence__licence_type", "licence__base_licence")
        .get(pk=number.pk, organisation_id=number.organisation_id)
    )


# --- reassign, change, delete, recover --------------------------------------------------------


def _only_number_on(licence: Licence, number: PhoneNumber) -> bool:
    """Rule 7: the licence moves with a reassigned number when it is a base licence holding
    only that number."""
    return not licence.base_licence_id and not licence.numbers.held().exclude(pk=number.pk).exists()


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
    licence = (
        Licence.objects.select_for_update(of=("self",))
        .select_related("licence_type")
        .get(pk=number.licence_id)
    )
    only_this = _only_number_on(licence, number)
    if only_this:
        ensure_under_plan_cap(org, member)
        licence.member, licence.line = member, line
        licence.save(update_fields=["member", "line"])
        history_follow_licence(licence=licence, at=at)
    else:
        target, _ = licence_for_new_number(
            org,
            member=member,
            line=line,
            number_type=number.number_type,
            actor=actor,
            at=at,
        )
        _close_history(number, at)
        number.licence = target
        number.save(update_fields=["licence"])
        licence_receive_number(target)
        history_open(number, target, at)
    audit_record(
        organisation=org,
        actor=actor,
        action="number.reassigned",
        target=number,
        changes={
            "from": str(current_member or current_line),
            "to": str(member or line),
            "licence_moved": only_this,
        },
    )
    return number


def numbers_quarantine(numbers: list[PhoneNumber], *, organisation, at: datetime) -> dt.date:
    """Rule 6: these numbers leave their licences (the slots free, the licences stay) for the
    quarantine, until the day this returns; their history closes. The caller holds the
    organisation's lock and the numbers' rows."""
    today = organisation_today(organisation, at=at)
    ends_on = today + dt.timedelta(days=settings.NUMBER_QUARANTINE_DAYS)
    for number in numbers:
        number.status = NumberStatus.QUARANTINED
        number.licence = None
        number.quarantined_at = at
        number.quarantine_ends_on = ends_on
    PhoneNumber.objects.bulk_update(
        numbers, ["status", "licence", "quarantined_at", "quarantine_ends_on"]
    )
    NumberAssignment.objects.filter(
        number__in=[number.pk for number in numbers], ended_at__isnull=True
    ).update(ended_at=at)
    return ends_on


def numbers_quarantine_all_locked(organisation, *, actor, at: datetime, reason: str) -> int:
    """Rule 6 for every number an organisation holds (closing it, rule 19): how many went into
    quarantine (closing cancels its open porting requests before)."""
    numbers = list(
        PhoneNumber.objects.select_for_update()
        .filter(organisation=organisation, status=NumberStatus.ASSIGNED)
        .order_by("pk")
    )
    ends_on = numbers_quarantine(numbers, organisation=organisation, at=at)
    audit_record_many(
        organisation=organisation,
        actor=actor,
        action="number.deleted",
        targets=numbers,
        changes={"reason": reason, "quarantine_ends_on": ends_on.isoformat()},
    )
    return len(numbers)


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
    licence = (
        Licence.objects.select_for_update(of=("self",))
        .select_related("licence_type", "base_licence")
        .get(pk=number.licence_id)
    )
    old = number.e164
    numbers_quarantine([number], organisation=org, at=at)
    ensure_can_receive(licence, number.number_type)
    new_e164 = carrier().reserve(country=number.country, number_type=number.number_type, e164=e164)
    new = _place(
        org, licence, e164=new_e164, country=number.country, number_type=number.number_type, at=at
    )
    audit_record(
        organisation=org,
        actor=actor,
        action="number.changed",
        target=new,
        changes={
            "from": old,
            "to": new.e164,
            "licence": str(licence.pk),
            "changes_used": licence.number_changes_used,
        },
    )
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
    numbers_quarantine([number], organisation=org, at=at)
    audit_record(
        organisation=org,
        actor=actor,
        action="number.deleted",
        target=number,
        changes={
            "licence": str(licence_id),
            "quarantine_ends_on": number.quarantine_ends_on.isoformat(),
        },
    )
    return number


def recover_target(number: PhoneNumber, member=None, line=None) -> tuple:
    """Who a recovered number goes to (rule 6): the member or line named, else its last holder
    (unless that member was deactivated); refused when there is nobody."""
    if member is None and line is None:
        last = NumberAssignment.objects.filter(number=number).order_by("-started_at").first()
        member, line = (last.member, last.line) if last else (None, None)
        if member is not None and not member.is_active and member.status == "deactivated":
            member = None
        if member is None and line is None:
            raise ValidationError(
                {
                    "member": ValidationError(
                        "Name the member or line to recover the number to.", code="required"
                    )
                }
            )
    return member, line


def ensure_recoverable(number: PhoneNumber, org, at) -> None:
    """Rule 6: only a quarantined number, and only during its quarantine."""
    if number.status != NumberStatus.QUARANTINED:
        raise errors.NumberUnavailable("Only a quarantined number can be recovered.")
    if number.quarantine_ends_on <= organisation_today(org, at=at):
        # Its quarantine is over: it belongs to the inventory now, even before the daily release.
        raise errors.NumberUnavailable(
            f"The quarantine ended on {number.quarantine_ends_on:%d %b %Y}; the number is no "
            "longer recoverable."
        )


@transaction.atomic
def number_recover(
    *, number: PhoneNumber, actor, member=None, line=None, at: datetime | None = None
) -> PhoneNumber:
    """Rule 6: platform staff bring a quarantined number back to the same organisation, to its
    last holder unless another is named, through a licence by rule 2. The returned number
    carries `purchase_invoice` (not stored): the invoice of a licence bought for it, or None."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only platform staff can recover a quarantined number.")
    at = at or timezone.now()
    org = organisation_for_update(number.organisation_id)
    number = _lock_number(number)
    ensure_recoverable(number, org, at)
    member, line = recover_target(number, member, line)
    check_assignee(org, member, line)
    target, obtained = licence_for_new_number(
        org,
        member=member,
        line=line,
        number_type=number.number_type,
        actor=actor,
        at=at,
    )
    carrier().recover(e164=number.e164, country=number.country, number_type=number.number_type)
    number.status = NumberStatus.ASSIGNED
    number.licence = target
    number.assigned_at = at
    number.quarantined_at = number.quarantine_ends_on = None
    number.save(
        update_fields=["status", "licence", "assigned_at", "quarantined_at", "quarantine_ends_on"]
    )
    licence_receive_number(target)
    history_open(number, target, at)
    audit_record(
        organisation=org,
        actor=actor,
        action="number.recovered",
        target=number,
        changes={"to": str(member or line)},
    )
    number.purchase_invoice = obtained.invoice  # not stored: the invoice of a licence bought
    return number


@transaction.atomic
def numbers_release_quarantined(*, at: datetime | None = None, limit: int = 1000) -> int:
    """Rule 6: numbers whose quarantine has ended go back to the inventory. Idempotent.

    Releases at most `limit` numbers a call (`telecom.celery.drain` calls it until it returns
    0). Candidates are read by UTC date, a day ahead to cover every time zone, then each is
    checked against its organisation's own date; the read goes on past candidates not yet due
    (a page at a time, by id), so due numbers behind any count of those are released now, not
    a day later.
    """
    at = at or timezone.now()
    candidates = (
        PhoneNumber.objects.select_for_update(skip_locked=True)
        .select_related("organisation")
        .filter(
            status=NumberStatus.QUARANTINED,
            quarantine_ends_on__lte=at.date() + dt.timedelta(days=1),
        )
        .order_by("pk")
    )
    released = 0
    backend = carrier()
    page: list[PhoneNumber] = []
    while released < limit:
        after = {"pk__gt": page[-1].pk} if page else {}
        page = list(candidates.filter(**after)[:limit])
        for number in page:
            if released == limit:
                break
            if number.quarantine_ends_on > organisation_today(number.organisation, at=at):
                continue
            number.status = NumberStatus.RELEASED
            number.released_at = at
            number.save(update_fields=["status", "released_at"])
            backend.release(
                e164=number.e164, country=number.country, number_type=number.number_type
            )
            audit_record(
                organisation=number.organisation,
                actor=None,
                action="number.released",
                target=number,
            )
            released += 1
        if len(page) < limit:
            break
    return released
