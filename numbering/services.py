"""Numbers: assign, reassign, change, delete into quarantine, recover, release (rules 1-10).

Every public function is one transaction that locks the organisation row first
(`telecom.locks`), so licence-slot decisions of one organisation are serialised, then the rows it
changes. Numbers come from and go back to the carrier boundary (`numbering.carriers`).
"""

import datetime as dt
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.audit import audit_event, audit_record
from accounts.models import AuditEvent, Organisation
from billing.models import Invoice
from billing.quotes import Quote
from billing.selectors import organisation_today
from licensing.models import LINE_DEFAULT_LICENCE_TYPE, Licence, LicenceStatus, LicenceType, Line
from licensing.services import (
    FREE_LICENCE_SCAN,
    LicenceSupply,
    PurchaseResult,
    check_assignee,
    ensure_not_restricted,
)
from numbering.capacity import has_changes_left, has_free_slot, receiving_counts_as_change
from numbering.carriers import carrier
from numbering.models import (
    NumberAssignment,
    NumberStatus,
    NumberType,
    PhoneNumber,
)
from numbering.phone import SUPPORTED_COUNTRIES, parse_number
from numbering.selectors import number_holder, numbers_held_by
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


def ensure_under_plan_cap(
    organisation: Organisation, member, *, adding: int = 1, held: int | None = None
) -> None:
    """Rule 5: a member holds at most the plan's numbers-per-member cap.

    `held` is how many numbers the member holds, when the caller has counted them already.
    """
    if member is None:
        return
    if held is None:
        held = numbers_held_by(member=member).count()
    if held + adding > organisation.max_numbers_per_member:
        raise errors.PlanNumberLimitReached(
            f"{member} already holds {held} number(s); the {organisation.plan} plan allows "
            f"{organisation.max_numbers_per_member} per member."
        )


def _held_by_type(licence: Licence) -> Counter:
    return Counter(licence.numbers.held().values_list("number_type", flat=True))


def _can_receive(licence: Licence, number_type: str, held: Counter | None = None) -> bool:
    capacity = licence.licence_type.number_capacity
    held = _held_by_type(licence) if held is None else held
    return has_free_slot(capacity, held, number_type) and has_changes_left(
        numbers_received=licence.numbers_received,
        changes_used=licence.number_changes_used,
        max_changes=licence.licence_type.max_number_changes,
        capacity=capacity,
    )


def _held_by(member_ids: list, line_ids: list) -> Q:
    """Licences assigned to these members or lines, and add-ons attached to those.

    The add-ons' condition is `base_licence_id = ANY(ARRAY(subquery))` rather than a join on the
    base licence: PostgreSQL then combines the member and base-licence indexes (BitmapOr) instead
    of reading every licence of the organisation, so an assignment costs the same in an
    organisation of 20 licences or 20,000.
    """
    held, conditions, params = Q(), [], []
    for column, ids in (("member_id", member_ids), ("line_id", line_ids)):
        if ids:
            held |= Q(**{f"{column}__in": ids})
            conditions.append(f'"{column}" = ANY(%s)')
            params.append(ids)
    addons = RawSQL(
        f'"licensing_licence"."base_licence_id" = ANY(ARRAY('
        f'SELECT "id" FROM "licensing_licence" WHERE {" OR ".join(conditions)}))',
        params,
        output_field=BooleanField(),
    )
    return held | Q(addons)


def _holder_key(member, line) -> tuple:
    return getattr(member, "pk", None), getattr(line, "pk", None)


class _Slots:
    """What rule 2 chooses from, for new numbers of one organisation, read under its lock.

    Each holder's (member's or line's) licences, base licences and their add-ons whatever their
    status, each with `held`, a Counter of the numbers on it by type; and the free licences of a
    type, oldest first, read a window at a time: one row for one number, as many as the batch
    for a batch, then FREE_LICENCE_SCAN more when some cannot serve. When none is free,
    `supply` (licensing's `LicenceSupply`) restores one scheduled for removal, else buys one or
    refuses (rules 13 and 1). `place` records a number in memory, so a batch's second number
    sees where its first went; the caller writes them all (`supply.commit` for the licences
    restored or bought). Reads: one query for holders without licences, two otherwise; one per
    type of free licence, and one per type of licence obtained.
    """

    def __init__(
        self,
        org: Organisation,
        holders,
        *,
        window: int = 1,
        at: datetime | None = None,
        lock: bool = True,
    ):
        self.org, self.window = org, max(1, window)
        self.supply = LicenceSupply(org, at=at, lock=lock, window=self.window)
        self.by_holder: dict[tuple, list[Licence]] = {
            _holder_key(member, line): [] for member, line in holders
        }
        self.by_pk: dict = {}
        self.changed: dict = {}  # licences already stored that a placed number changes
        self._free: dict = {}  # licence type id → deque of free licences not yet taken
        self._free_read: Counter = Counter()
        self._free_refused: Counter = Counter()
        self._free_exhausted: set = set()
        self._types: dict = {}
        self._read_holders()

    def _read_holders(self) -> None:
        member_ids = [m for m, line in self.by_holder if m is not None]
        line_ids = [line for m, line in self.by_holder if line is not None]
        if not member_ids and not line_ids:
            return
        licences = list(
            Licence.objects.filter(_held_by(member_ids, line_ids), organisation=self.org)
            .select_related("licence_type")
            .order_by("base_licence_id", "purchased_at", "pk")
        )
        if not licences:
            return
        self.by_pk = {licence.pk: licence for licence in licences}
        for licence in licences:
            licence.held = Counter()
        for licence_id, number_type in (
            PhoneNumber.objects.held()
            .filter(licence_id__in=list(self.by_pk))
            .values_list("licence_id", "number_type")
        ):
            self.by_pk[licence_id].held[number_type] += 1
        for licence in licences:
            owner = self.by_pk.get(licence.base_licence_id, licence)
            holder = self.by_holder.get((owner.member_id, owner.line_id))
            if holder is not None:
                holder.append(licence)

    def licences_of(self, member, line) -> list[Licence]:
        return self.by_holder[_holder_key(member, line)]

    def numbers_held(self, member, line) -> int:
        """How many numbers the member (or line) holds, for rule 5."""
        return sum(sum(licence.held.values()) for licence in self.licences_of(member, line))

    def held_with_slot(self, member, line, number_type: str) -> Licence | None:
        """Rule 2, first choice: a licence the member (or line) already holds with a free slot
        for this type and changes left, in the order read."""
        for licence in self.licences_of(member, line):
            if licence.status == LicenceStatus.ACTIVE and _can_receive(
                licence, number_type, licence.held
            ):
                return licence
        return None

    def first_free(self, licence_type: LicenceType | int, number_type: str) -> Licence | None:
        """Rule 2, second choice: the oldest free licence of the type that can take this number
        (the same pick as `licensing.services.licence_obtain_locked`)."""
        type_id = getattr(licence_type, "pk", licence_type)
        queue = self._free.setdefault(type_id, deque())
        while True:
            while queue:
                candidate = queue[0]
                if not has_free_slot(
                    candidate.licence_type.number_capacity, Counter(), number_type
                ):
                    return None  # no licence of this type can hold such a number
                if _can_receive(candidate, number_type, Counter()):
                    return candidate
                queue.popleft()  # its number changes are used up: no number can go on it
                self._free_refused[type_id] += 1
            if type_id in self._free_exhausted or self._free_refused[type_id] >= FREE_LICENCE_SCAN:
                return None
            start = self._free_read[type_id]
            size = self.window if start == 0 else FREE_LICENCE_SCAN
            page = list(
                Licence.objects.filter(organisation=self.org, licence_type=type_id)
                .free()
                .select_related("licence_type")[start : start + size]
            )
            self._free_read[type_id] += len(page)
            if len(page) < size:
                self._free_exhausted.add(type_id)
            for licence in page:
                licence.held = Counter()
            queue.extend(page)

    def licence_type(self, licence_type: LicenceType | int) -> LicenceType:
        if isinstance(licence_type, LicenceType):
            return licence_type
        if licence_type not in self._types:
            self._types[licence_type] = LicenceType.objects.get(pk=licence_type)
        return self._types[licence_type]

    def default_licence_type(self, line) -> LicenceType:
        code = LINE_DEFAULT_LICENCE_TYPE[line.kind] if line is not None else "user_standard"
        if code not in self._types:
            self._types[code] = LicenceType.objects.get(code=code)
        return self._types[code]

    def place(self, pick: "_Pick", *, member, line, number_type: str) -> Licence:
        """Record a new number on the pick's licence (one restored or bought is taken from
        `supply` here; `supply.commit` writes it with its assignee and counters)."""
        licence = pick.licence
        if pick.source in OBTAINED:
            licence = self.supply.take(pick.licence_type)
            licence.held = Counter()
        elif pick.source == "free":
            self._free[licence.licence_type_id].popleft()
        if pick.takes_assignee:
            licence.member, licence.line = member, line
            self.licences_of(member, line).append(licence)
        if pick.source not in OBTAINED:
            self.changed[licence.pk] = licence
        self.by_pk[licence.pk] = licence
        licence.held[number_type] += 1
        return licence


def _fallback_licence_type(slots: _Slots, line, licence_type) -> LicenceType | int:
    """The type rule 2 falls back to: the requested one, else the line kind's or the
    organisation's default. The organisation's default as its id, which is enough to look for a
    free licence (the common case) without reading the type."""
    if licence_type is not None:
        return licence_type
    if line is None and slots.org.default_licence_type_id:
        return slots.org.default_licence_type_id
    return slots.default_licence_type(line)


OBTAINED = ("restore", "purchase")  # the sources `LicenceSupply` provides


@dataclass(frozen=True)
class _Pick:
    """Where rule 2 puts a new number: `source` is "given" (the licence named), "held" (one the
    holder has, with a free slot), "free" (an unassigned one), "restore" (one scheduled for
    removal, restored at no charge: rule 13) or "purchase" (rule 1)."""

    source: str
    licence: Licence | None
    licence_type: LicenceType
    takes_assignee: bool  # the licence becomes the member's (or line's)


def _given_licence(org, slots: _Slots, licence, *, member, line, number_type, lock: bool) -> _Pick:
    if licence.organisation_id != org.pk:
        raise Licence.DoesNotExist()
    licences = Licence.objects.select_related("licence_type", "base_licence")
    if lock:
        licences = licences.select_for_update(of=("self",))
    licence = licences.get(pk=licence.pk)
    if licence.pk in slots.by_pk:  # a batch's earlier number went on it, or the holder has it
        known = slots.by_pk[licence.pk]
        known.base_licence = licence.base_licence
        licence = known
    else:
        licence.held = _held_by_type(licence)
    if licence.status != LicenceStatus.ACTIVE:
        raise errors.LicenceNotActive()
    owner = licence.base_licence if licence.base_licence_id else licence
    free = owner.member_id is None and owner.line_id is None and not licence.base_licence_id
    if not free and (
        owner.member_id != getattr(member, "pk", None) or owner.line_id != getattr(line, "pk", None)
    ):
        raise errors.LicenceFull("This licence is held by someone else.")
    if free and licence.held:
        raise errors.LicenceFull("This licence still holds numbers; reassign them with it.")
    _ensure_can_receive(licence, number_type, licence.held)
    return _Pick("given", licence, licence.licence_type, takes_assignee=free)


def _pick_licence(
    org, slots: _Slots, *, member, line, number_type, licence_type, licence, lock: bool = True
) -> _Pick:
    """Rule 2: the given licence, else a held one with a slot, else a free one, else one
    scheduled for removal restored (rule 13), else rule 1.

    Reads only (locking the given licence when `lock`): `_Slots.place` records the pick,
    the previews show it.
    """
    if licence is not None:
        return _given_licence(
            org, slots, licence, member=member, line=line, number_type=number_type, lock=lock
        )
    held = slots.held_with_slot(member, line, number_type)
    if held is not None:
        return _Pick("held", held, held.licence_type, takes_assignee=False)
    fallback = _fallback_licence_type(slots, line, licence_type)
    free = slots.first_free(fallback, number_type)
    if free is not None:
        return _Pick("free", free, free.licence_type, takes_assignee=True)
    fallback = slots.licence_type(fallback)
    if not has_free_slot(fallback.number_capacity, Counter(), number_type):
        raise errors.LicenceFull(
            f"A {fallback.name} licence cannot hold a {number_type.replace('_', ' ')} number."
        )
    source = "restore" if slots.supply.will_restore(fallback) else "purchase"
    return _Pick(source, None, fallback, takes_assignee=True)


def licence_for_new_number(
    org, *, member, line, number_type, licence_type, licence, actor, at
) -> tuple[Licence, PurchaseResult]:
    """Rule 2 for one number that the caller puts on the licence: the given licence, else a
    held one with a slot, else a free one, else one scheduled for removal restored at no
    charge (rule 13), else rule 1 (a licence bought now, or refused).

    A licence that becomes the holder's is changed in memory only: the caller's
    `licence_receive_number` saves it with its counters. The result says what was restored or
    bought for it, and the invoice of a purchase.
    """
    slots = _Slots(org, [(member, line)], at=at)
    pick = _pick_licence(
        org,
        slots,
        member=member,
        line=line,
        number_type=number_type,
        licence_type=licence_type,
        licence=licence,
    )
    target = slots.place(pick, member=member, line=line, number_type=number_type)
    return target, slots.supply.commit(actor=actor)


def _ensure_can_receive(licence: Licence, number_type: str, held: Counter | None = None) -> None:
    capacity = licence.licence_type.number_capacity
    held = _held_by_type(licence) if held is None else held
    if not has_free_slot(capacity, held, number_type):
        raise errors.LicenceFull(
            f"This {licence.licence_type.name} licence has no free slot for a "
            f"{number_type.replace('_', ' ')} number."
        )
    if not has_changes_left(
        numbers_received=licence.numbers_received,
        changes_used=licence.number_changes_used,
        max_changes=licence.licence_type.max_number_changes,
        capacity=capacity,
    ):
        raise errors.NumberChangeLimitReached(
            f"This licence has used its {licence.licence_type.max_number_changes} number changes."
        )


def _count_received(licence: Licence) -> None:
    """Rule 8's counters, in memory: one more number received, maybe one more change used."""
    if receiving_counts_as_change(
        numbers_received=licence.numbers_received, capacity=licence.licence_type.number_capacity
    ):
        licence.number_changes_used += 1
    licence.numbers_received += 1


_RECEIVED_FIELDS = ["member", "line", "numbers_received", "number_changes_used"]


def licence_receive_number(licence: Licence) -> None:
    """Count a number arriving on a licence (rule 8); saves its assignee with the counters."""
    _count_received(licence)
    licence.save(update_fields=_RECEIVED_FIELDS)


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


@dataclass(frozen=True)
class NumberRequest:
    """One new number for `numbers_assign`: who gets it (a member or a line), its country and
    type, and optionally the number itself, the licence type to buy or the licence to use."""

    country: str
    number_type: str
    member: object = None
    line: Line | None = None
    e164: str | None = None
    licence_type: LicenceType | None = None
    licence: Licence | None = None

    def holder(self) -> str:
        return str(self.member or self.line)


@contextmanager
def _for_request(requests: list, index: int):
    """A refusal in a batch says whose number it was (a single request's stays as it is)."""
    try:
        yield
    except DomainError as exc:
        if len(requests) == 1:
            raise
        raise type(exc)(f"{requests[index].holder()}: {exc.detail}") from exc
    except ValidationError as exc:
        if len(requests) == 1:
            raise
        raise ValidationError(
            f"{requests[index].holder()}: {' '.join(exc.messages)}", code="invalid"
        ) from exc


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


def _choose(org, slots: _Slots, *, member, line, lock: bool, **wanted) -> _Pick:
    """Rules 5 and 2 for one more number: refused at the plan's cap, else the licence it goes
    on (`_pick_licence`; `wanted` are its number_type, licence_type and licence)."""
    ensure_under_plan_cap(org, member, held=slots.numbers_held(member, line))
    return _pick_licence(org, slots, member=member, line=line, lock=lock, **wanted)


def _plan(org, slots: _Slots, requests: list[NumberRequest], *, lock: bool) -> list[tuple]:
    """Rules 5, 2 and 1 for each request in order, recorded in `slots` (a batch's later numbers
    see its earlier ones): `(licence, source)` for each, `source` as `_Pick` says."""
    placed = []
    for index, request in enumerate(requests):
        with _for_request(requests, index):
            member, line = request.member, request.line
            pick = _choose(
                org,
                slots,
                member=member,
                line=line,
                number_type=request.number_type,
                licence_type=request.licence_type,
                licence=request.licence,
                lock=lock,
            )
            target = slots.place(pick, member=member, line=line, number_type=request.number_type)
            _count_received(target)
            placed.append((target, pick.source))
    return placed


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
    licences and the free ones are read once (`_Slots`), the numbers are taken from the carrier
    per country and type, licences that rule 1 buys go on one invoice, and numbers, licences,
    history and audit are written in bulk. `number_assign` is a batch of one.
    """
    at = at or timezone.now()
    requests = list(requests)
    for index, request in enumerate(requests):
        with _for_request(requests, index):
            requests[index] = _cleaned(request)
    if not requests:
        return []
    org = organisation_for_update(organisation.pk)
    for index, request in enumerate(requests):
        with _for_request(requests, index):
            check_assignee(org, request.member, request.line)
    ensure_not_restricted(org, at=at)
    slots = _Slots(org, [(r.member, r.line) for r in requests], window=len(requests), at=at)
    targets = _plan(org, slots, requests, lock=True)
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
        _RECEIVED_FIELDS,
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


def _obtain_preview(slots: _Slots, pick: _Pick) -> Quote | None:
    """The licence rule 13 restores or rule 1 buys for this pick, as `LicenceSupply` will
    commit it: the same decision and the invoice's own arithmetic (or the refusal)."""
    if pick.source not in OBTAINED:
        return None
    slots.supply.take(pick.licence_type)
    return slots.supply.quote()


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
        slots = _Slots(organisation, [(member, line)], at=at, lock=False)
        pick = _choose(
            organisation,
            slots,
            member=member,
            line=line,
            number_type=number_type,
            licence_type=licence_type,
            licence=licence,
            lock=False,
        )
        quote = _obtain_preview(slots, pick)
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
            with _for_request(requests, index):
                requests[index] = _cleaned(request)
                check_assignee(organisation, request.member, request.line)
        ensure_not_restricted(organisation, at=at)
        slots = _Slots(
            organisation,
            [(r.member, r.line) for r in requests],
            window=len(requests),
            at=at,
            lock=False,
        )
        sources = Counter(source for _, source in _plan(organisation, slots, requests, lock=False))
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
        ensure_under_plan_cap(organisation, member)
        licence = number.licence
        only_this = (
            not licence.base_licence_id
            and not licence.numbers.held().exclude(pk=number.pk).exists()
        )
        if only_this:
            return NumberPreview(source="moves", licence=licence, licence_type=licence.licence_type)
        slots = _Slots(organisation, [(member, line)], at=at, lock=False)
        pick = _pick_licence(
            organisation,
            slots,
            member=member,
            line=line,
            number_type=number.number_type,
            licence_type=None,
            licence=None,
            lock=False,
        )
        if pick.source == "purchase":
            ensure_not_restricted(organisation, at=at)
        quote = _obtain_preview(slots, pick)
    except DomainError as exc:
        return NumberPreview(source="", refusal=exc)
    return NumberPreview(
        source=pick.source, licence=pick.licence, licence_type=pick.licence_type, quote=quote
    )


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
    ensure_under_plan_cap(org, member)
    licence = (
        Licence.objects.select_for_update(of=("self",))
        .select_related("licence_type")
        .get(pk=number.licence_id)
    )
    only_this = (
        not licence.base_licence_id and not licence.numbers.held().exclude(pk=number.pk).exists()
    )
    if only_this:
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
    licence = (
        Licence.objects.select_for_update(of=("self",))
        .select_related("licence_type", "base_licence")
        .get(pk=number.licence_id)
    )
    old = number.e164
    _quarantine(number, at)
    _ensure_can_receive(licence, number.number_type)
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
    _quarantine(number, at)
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
    ensure_under_plan_cap(org, member)
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
