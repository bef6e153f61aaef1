"""Numbers: assign, reassign, change, delete into quarantine, recover, release (rules 1-10).

Every public function is one transaction that locks the organisation row first
(`telecom.locks`), so licence-slot decisions of one organisation are serialised, then the rows it
changes. Numbers come from and go back to the carrier boundary (`numbering.carriers`).
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import audit_event, audit_record, audit_record_many
from accounts.models import AuditEvent, Organisation
from billing.models import Invoice
from billing.quotes import Quote
from billing.selectors import organisation_today
from licensing.models import Licence, LicenceType
from licensing.services import (
    check_assignee,
    ensure_not_restricted,
)
from numbering.allocation import (
    RECEIVED_FIELDS,
    Allocation,
    NumberRequest,
    ensure_can_receive,
    ensure_under_plan_cap,
    for_request,
    licence_for_new_number,
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
from numbering.selectors import number_holder
from telecom import errors
from telecom.bulk import update_from_arrays
from telecom.errors import DomainError
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


def history_open(number: PhoneNumber, licence: Licence, at: datetime) -> None:
    _history_row(number, licence, at).save(force_insert=True)


def _history_row(number: PhoneNumber, licence: Licence, at: datetime) -> NumberAssignment:
    owner = licence.base_licence if licence.base_licence_id else licence
    return NumberAssignment(
        number=number,
        organisation_id=number.organisation_id,
        licence=licence,
        member_id=owner.member_id,
        line_id=owner.line_id,
        started_at=at,
    )


def _close_history(number: PhoneNumber, at: datetime) -> None:
    NumberAssignment.objects.filter(number=number, ended_at__isnull=True).update(ended_at=at)


def history_follow_licence(*, licence: Licence, at: datetime | None = None) -> None:
    """The licence's assignee changed: its numbers' history moves with it (rules 7 and 9)."""
    at = at or timezone.now()
    numbers = list(
        PhoneNumber.objects.held().filter(Q(licence=licence) | Q(licence__base_licence=licence))
    )
    for number in numbers:
        _close_history(number, at)
        history_open(number, number.licence, at)


def _lock_number(number: PhoneNumber) -> PhoneNumber:
    return (
        PhoneNumber.objects.select_for_update(of=("self",))
        .select_related("licence__licence_type", "licence__base_licence")
        .get(pk=number.pk, organisation_id=number.organisation_id)
    )


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


# --- previews: what a change would do, read without writing (the console's reviews) ----------


@dataclass(frozen=True)
class NumberPreview:
    """What `number_assign` (or `number_reassign`) would do now, worked out without writing.

    `source` says where the number would go: "given" (the licence named), "held" (a licence the
    holder has, with a free slot), "free" (an unassigned licence, which becomes theirs),
    "restore" (a licence scheduled for removal, restored at no charge by rule 13, as `quote`
    says), "purchase" (a licence bought by rule 1, charged as `quote`), "moves" (a reassigned
    number takes its licence along, rule 7) or "unchanged" (it is theirs already). `refusal` is the
    rule the change would break; nothing would change then.
    """

    source: str
    licence: Licence | None = None
    licence_type: LicenceType | None = None
    quote: Quote | None = None
    available: list = field(default_factory=list)  # carrier.AvailableNumber, for an assignment
    refusal: DomainError | None = None

    @property
    def licence_purchased(self) -> bool:
        return self.refusal is None and self.source == "purchase"

    @property
    def licence_restored(self) -> bool:
        return self.refusal is None and self.source == "restore"


def number_assign_preview(
    *,
    organisation: Organisation,
    country: str,
    number_type: str,
    member=None,
    line=None,
    e164: str | None = None,
    licence_type: LicenceType | None = None,
    licence: Licence | None = None,
    at: datetime | None = None,
    contains: str = "",
    limit: int = 20,
) -> NumberPreview:
    """`number_assign`'s decisions (rules 1-5 and 18) read-only: which licence the number would
    go on, whether one would be bought and what it would cost, or why it would be refused; with
    the numbers available for it (those containing `contains`, when given). Input errors raise a
    ValidationError, as `number_assign` does.
    """
    at = at or timezone.now()
    country, number_type = _validate_kind(country, number_type)
    if e164:
        e164 = parse_number(e164, declared_type=number_type, country=country).e164
    check_assignee(organisation, member, line)
    available = carrier().search(
        country=country, number_type=number_type, contains=e164 or contains, limit=limit
    )
    pick = None
    try:
        ensure_not_restricted(organisation, at=at)
        slots = Allocation(organisation, [(member, line)], at=at, lock=False)
        pick = slots.choose(
            member=member,
            line=line,
            number_type=number_type,
            licence_type=licence_type,
            licence=licence,
        )
        quote = slots.preview(pick, number_type)
        if not any(e164 in (None, n.e164) for n in available):
            raise errors.NumberUnavailable(
                f"{e164} is not available."
                if e164
                else f"No available {number_type.replace('_', ' ')} number in {country} "
                f"contains {contains}."
                if contains
                else f"No {number_type.replace('_', ' ')} number is available in {country}."
            )
    except DomainError as exc:
        return NumberPreview(
            source=pick.source if pick else "",
            licence=pick.licence if pick else None,
            licence_type=pick.licence_type if pick else None,
            available=available,
            refusal=exc,
        )
    return NumberPreview(
        source=pick.source,
        licence=pick.licence,
        licence_type=pick.licence_type,
        quote=quote,
        available=available,
    )


@dataclass(frozen=True)
class BatchPreview:
    """What `numbers_assign` would do now for a batch: how many numbers go on a licence the
    holder has ("held"), on a free one ("free"), on one scheduled for removal restored at no
    charge ("restore", rule 13) or on one bought (rule 1); `quote` shows the restored and bought
    licences and their cost. Or the first refusal, naming whose number it was, when it would
    change nothing."""

    sources: Counter = field(default_factory=Counter)
    quote: Quote | None = None
    refusal: Exception | None = None

    @property
    def licences_bought(self) -> int:
        return self.sources["purchase"]

    @property
    def licences_restored(self) -> int:
        return self.sources["restore"]


def numbers_assign_preview(
    *, organisation: Organisation, requests: list[NumberRequest], at: datetime | None = None
) -> BatchPreview:
    """`numbers_assign`'s decisions read-only, for the console's review of a batch."""
    at = at or timezone.now()
    requests = list(requests)
    try:
        for index, request in enumerate(requests):
            with for_request(requests, index):
                requests[index] = _cleaned(request)
                check_assignee(organisation, request.member, request.line)
        ensure_not_restricted(organisation, at=at)
        slots = Allocation(
            organisation,
            [(r.member, r.line) for r in requests],
            window=len(requests),
            at=at,
            lock=False,
        )
        sources = Counter(source for _, source in slots.plan(requests))
        for (country, number_type), wanted in Counter(
            (r.country, r.number_type) for r in requests
        ).items():
            found = len(carrier().search(country=country, number_type=number_type, limit=wanted))
            if found < wanted:
                kind = number_type.replace("_", " ")
                raise errors.NumberUnavailable(
                    f"Only {found} {kind} numbers are available in {country}, not {wanted}."
                )
    except (DomainError, ValidationError) as exc:
        return BatchPreview(refusal=exc)
    obtained = sources["purchase"] or sources["restore"]
    return BatchPreview(sources=sources, quote=slots.supply.quote() if obtained else None)


def number_reassign_preview(
    *, number: PhoneNumber, member=None, line=None, at: datetime | None = None
) -> NumberPreview:
    """`number_reassign`'s decisions (rules 5 and 7) read-only: the licence moves with the
    number, or the number takes a slot of the target's licences by rule 2 (maybe a bought one)."""
    at = at or timezone.now()
    organisation = number.organisation
    check_assignee(organisation, member, line)
    try:
        if number.status != NumberStatus.ASSIGNED:
            raise errors.NumberUnavailable("Only an assigned number can be reassigned.")
        if number_holder(number) == (member, line):
            return NumberPreview(
                source="unchanged", licence=number.licence, licence_type=number.licence.licence_type
            )
        licence = number.licence
        if _only_number_on(licence, number):
            ensure_under_plan_cap(organisation, member)
            return NumberPreview(source="moves", licence=licence, licence_type=licence.licence_type)
        slots = Allocation(organisation, [(member, line)], at=at, lock=False)
        pick = slots.choose(member=member, line=line, number_type=number.number_type)
        if pick.source == "purchase":
            ensure_not_restricted(organisation, at=at)
        quote = slots.preview(pick, number.number_type)
    except DomainError as exc:
        return NumberPreview(source="", refusal=exc)
    return NumberPreview(
        source=pick.source, licence=pick.licence, licence_type=pick.licence_type, quote=quote
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
            licence_type=None,
            licence=None,
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
    if number.quarantine_ends_on <= organisation_today(org, at=at):
        # Its quarantine is over: it belongs to the inventory now, even before the daily release.
        raise errors.NumberUnavailable(
            f"The quarantine ended on {number.quarantine_ends_on:%d %b %Y}; the number is no "
            "longer recoverable."
        )
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
    check_assignee(org, member, line)
    target, _ = licence_for_new_number(
        org,
        member=member,
        line=line,
        number_type=number.number_type,
        licence_type=None,
        licence=None,
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
