"""The allocation engine: where a new number goes (rules 1, 2, 3, 5 and 8, and rule 13's
restore-first), for a batch of requests or one.

`Allocation` reads the organisation's licences that matter once, under the organisation's lock
held by the caller: the holders' licences (base licences and their add-ons) with the numbers
they hold, by type. Then it answers in memory for a whole batch, a later request seeing where
the earlier ones went; what is short it asks licensing's `LicenceSupply` (a free licence of the
type, else one scheduled for removal restored at no charge, else one bought pro rata or
refused by the `block` policy). A single assignment is a batch of one. With `lock=False` the
same decisions are read-only, for the previews (the reviews the console shows).

Every path that puts a number on a licence asks it: single and batch assignment and their
previews (`numbering.services`), reassignment, recovery, porting reservations
(`numbering.porting`). Moving a licence that carries numbers to a member (licensing's
`licence_assign`) asks `check_licence_move` through the hook licensing offers. The pure
predicates are in `numbering.capacity`.
"""

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from accounts.models import Organisation
from licensing.models import LINE_DEFAULT_LICENCE_TYPE, Licence, LicenceStatus, LicenceType, Line
from licensing.services import LicenceSupply, PurchaseResult
from numbering.capacity import (
    can_receive_number,
    has_free_slot,
    receiving_counts_as_change,
    within_plan_cap,
)
from numbering.models import PhoneNumber
from numbering.selectors import numbers_held_by
from telecom import errors
from telecom.errors import DomainError

# --- rule 5: the plan's cap -------------------------------------------------------------------


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
    if not within_plan_cap(held=held, adding=adding, cap=organisation.max_numbers_per_member):
        raise errors.PlanNumberLimitReached(
            f"{member} already holds {held} number(s); the {organisation.plan} plan allows "
            f"{organisation.max_numbers_per_member} per member."
        )


def check_licence_move(organisation: Organisation, licence: Licence, member) -> None:
    """Rule 5 when a licence carrying numbers (on it or on its add-ons) moves to a member:
    licensing's `licence_assign` asks it through `licensing.services.number_rules`."""
    carried = licence.numbers.held().count() + sum(
        addon.numbers.held().count() for addon in licence.addons.all()
    )
    if carried:
        ensure_under_plan_cap(
            organisation, member, adding=carried, held=numbers_held_by(member=member).count()
        )


# --- rules 3 and 8 on one licence ---------------------------------------------------------------


def _held_by_type(licence: Licence) -> Counter:
    return Counter(licence.numbers.held().values_list("number_type", flat=True))


def can_receive(licence: Licence, number_type: str, held: Counter | None = None) -> bool:
    """Rules 3 and 8: a free slot for this type, and a change left if it would count as one."""
    return can_receive_number(
        capacity=licence.licence_type.number_capacity,
        held=_held_by_type(licence) if held is None else held,
        number_type=number_type,
        numbers_received=licence.numbers_received,
        changes_used=licence.number_changes_used,
        max_changes=licence.licence_type.max_number_changes,
    )


def ensure_can_receive(licence: Licence, number_type: str, held: Counter | None = None) -> None:
    """`can_receive`, refused with the rule it breaks."""
    capacity = licence.licence_type.number_capacity
    held = _held_by_type(licence) if held is None else held
    if not has_free_slot(capacity, held, number_type):
        raise errors.LicenceFull(
            f"This {licence.licence_type.name} licence has no free slot for a "
            f"{number_type.replace('_', ' ')} number."
        )
    if not can_receive(licence, number_type, held):
        raise errors.NumberChangeLimitReached(
            f"This licence has used its {licence.licence_type.max_number_changes} number changes."
        )


def count_received(licence: Licence) -> None:
    """Rule 8's counters, in memory: one more number received, maybe one more change used."""
    if receiving_counts_as_change(
        numbers_received=licence.numbers_received, capacity=licence.licence_type.number_capacity
    ):
        licence.number_changes_used += 1
    licence.numbers_received += 1


RECEIVED_FIELDS = ["member", "line", "numbers_received", "number_changes_used"]


def licence_receive_number(licence: Licence) -> None:
    """Count a number arriving on a licence (rule 8); saves its assignee with the counters."""
    count_received(licence)
    licence.save(update_fields=RECEIVED_FIELDS)


# --- requests -----------------------------------------------------------------------------------


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
def for_request(requests: list, index: int):
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


OBTAINED = ("restore", "purchase")  # the sources `LicenceSupply` commits


@dataclass(frozen=True)
class Pick:
    """Where rule 2 puts a new number: `source` is "given" (the licence named), "held" (one the
    holder has, with a free slot), "free" (an unassigned one), "restore" (one scheduled for
    removal, restored at no charge: rule 13) or "purchase" (rule 1)."""

    source: str
    licence: Licence | None
    licence_type: LicenceType
    takes_assignee: bool  # the licence becomes the member's (or line's)


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


def _accepts(number_type: str):
    """A licence nobody holds can take this number (rules 3 and 8)."""
    return lambda licence: can_receive(licence, number_type, Counter())


class Allocation:
    """Rules 5, 2, 3, 8 and 1 for new numbers of one organisation, read once under its lock.

    Each holder's (member's or line's) licences, base licences and their add-ons whatever their
    status, each with `held`, a Counter of the numbers on it by type. What no held licence can
    take, `supply` (licensing's `LicenceSupply`) provides: a free licence of the type, oldest
    first, read a window at a time (one row for one number, as many as the batch for a batch),
    else one scheduled for removal restored, else one bought or refused (rules 13 and 1).
    `choose` decides for one more number, `place` records it in memory so that a batch's second
    number sees where its first went, `plan` does both for each request of a batch; the caller
    writes them all (`changed`, and `supply.commit` for the licences restored or bought).
    Reads: one query for holders without licences, two otherwise; one per type of free
    licence, and one per type of licence obtained.
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
        self.org, self.window, self.lock = org, max(1, window), lock
        self.supply = LicenceSupply(org, at=at, lock=lock, window=self.window)
        self.by_holder: dict[tuple, list[Licence]] = {
            _holder_key(member, line): [] for member, line in holders
        }
        self.by_pk: dict = {}
        self.changed: dict = {}  # licences already stored that a placed number changes
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
            if licence.status == LicenceStatus.ACTIVE and can_receive(
                licence, number_type, licence.held
            ):
                return licence
        return None

    def licence_type(self, licence_type: LicenceType | int) -> LicenceType:
        if isinstance(licence_type, LicenceType):
            return licence_type
        if licence_type not in self._types:
            self._types[licence_type] = LicenceType.objects.get(pk=licence_type)
        return self._types[licence_type]

    def _fallback_licence_type(self, line, licence_type) -> LicenceType | int:
        """The type rule 2 falls back to: the requested one, else the line kind's or the
        organisation's default. The organisation's default as its id, which is enough to look
        for a free licence (the common case) without reading the type."""
        if licence_type is not None:
            return licence_type
        if line is None and self.org.default_licence_type_id:
            return self.org.default_licence_type_id
        code = LINE_DEFAULT_LICENCE_TYPE[line.kind] if line is not None else "user_standard"
        if code not in self._types:
            self._types[code] = LicenceType.objects.get(code=code)
        return self._types[code]

    def _given(self, licence, *, member, line, number_type) -> Pick:
        if licence.organisation_id != self.org.pk:
            raise Licence.DoesNotExist()
        licences = Licence.objects.select_related("licence_type", "base_licence")
        if self.lock:
            licences = licences.select_for_update(of=("self",))
        licence = licences.get(pk=licence.pk)
        if licence.pk in self.by_pk:  # a batch's earlier number went on it, or the holder has it
            known = self.by_pk[licence.pk]
            known.base_licence = licence.base_licence
            licence = known
        else:
            licence.held = _held_by_type(licence)
        if licence.status != LicenceStatus.ACTIVE:
            raise errors.LicenceNotActive()
        owner = licence.base_licence if licence.base_licence_id else licence
        free = owner.member_id is None and owner.line_id is None and not licence.base_licence_id
        if not free and (
            owner.member_id != getattr(member, "pk", None)
            or owner.line_id != getattr(line, "pk", None)
        ):
            raise errors.LicenceFull("This licence is held by someone else.")
        if free and licence.held:
            raise errors.LicenceFull("This licence still holds numbers; reassign them with it.")
        ensure_can_receive(licence, number_type, licence.held)
        return Pick("given", licence, licence.licence_type, takes_assignee=free)

    def pick(self, *, member, line, number_type, licence_type=None, licence=None) -> Pick:
        """Rule 2: the given licence, else a held one with a slot, else what `supply` gives (a
        free one, else one scheduled for removal restored, rule 13, else rule 1). Reads only
        (locking the given licence when `lock`): `place` records the pick."""
        if licence is not None:
            return self._given(licence, member=member, line=line, number_type=number_type)
        held = self.held_with_slot(member, line, number_type)
        if held is not None:
            return Pick("held", held, held.licence_type, takes_assignee=False)
        fallback = self._fallback_licence_type(line, licence_type)
        free = self.supply.peek_free(fallback, accept=_accepts(number_type))
        if free is not None:
            return Pick("free", free, free.licence_type, takes_assignee=True)
        fallback = self.licence_type(fallback)
        if not has_free_slot(fallback.number_capacity, Counter(), number_type):
            raise errors.LicenceFull(
                f"A {fallback.name} licence cannot hold a {number_type.replace('_', ' ')} number."
            )
        source, _ = self.supply.source(fallback, accept=_accepts(number_type), free=False)
        return Pick(source, None, fallback, takes_assignee=True)

    def choose(self, *, member, line, **wanted) -> Pick:
        """Rules 5 and 2 for one more number: refused at the plan's cap, else `pick` (`wanted`
        are its number_type, licence_type and licence)."""
        ensure_under_plan_cap(self.org, member, held=self.numbers_held(member, line))
        return self.pick(member=member, line=line, **wanted)

    def place(self, pick: Pick, *, member, line, number_type: str) -> Licence:
        """Record a new number on the pick's licence (one free, restored or bought is taken
        from `supply` here; `supply.commit` writes those restored or bought with their assignee
        and counters, the caller the others, from `changed`)."""
        licence = pick.licence
        if pick.source in ("free", *OBTAINED):
            licence = self.supply.take(pick.licence_type, accept=_accepts(number_type))
            licence.held = Counter()
        elif pick.source == "given" and pick.takes_assignee:
            self.supply.withdraw(licence)  # a free licence named: no later request takes it
        if pick.takes_assignee:
            licence.member, licence.line = member, line
            self.licences_of(member, line).append(licence)
        if pick.source not in OBTAINED:
            self.changed[licence.pk] = licence
        self.by_pk[licence.pk] = licence
        licence.held[number_type] += 1
        return licence

    def plan(self, requests: list[NumberRequest]) -> list[tuple[Licence, str]]:
        """Rules 5, 2 and 1 for each request in order, recorded (a batch's later numbers see
        its earlier ones): `(licence, source)` for each, `source` as `Pick` says."""
        placed = []
        for index, request in enumerate(requests):
            with for_request(requests, index):
                member, line = request.member, request.line
                pick = self.choose(
                    member=member,
                    line=line,
                    number_type=request.number_type,
                    licence_type=request.licence_type,
                    licence=request.licence,
                )
                target = self.place(pick, member=member, line=line, number_type=request.number_type)
                count_received(target)
                placed.append((target, pick.source))
        return placed

    def preview(self, pick: Pick, number_type: str):
        """The licence rule 13 restores or rule 1 buys for this pick, as `supply.commit` will
        write it: the same decision and the invoice's own arithmetic (or the refusal)."""
        if pick.source not in OBTAINED:
            return None
        self.supply.take(pick.licence_type, accept=_accepts(number_type), free=False)
        return self.supply.quote()


def licence_for_new_number(
    org, *, member, line, number_type, actor, at, licence_type=None, licence=None
) -> tuple[Licence, PurchaseResult]:
    """Rules 5 and 2 for one number that the caller puts on the licence (a batch of one): refused
    at the plan's cap, else the given licence, else a held one with a slot, else a free one,
    else one scheduled for removal restored at no charge (rule 13), else rule 1 (a licence
    bought now, or refused). The caller holds the organisation's lock.

    A licence that becomes the holder's is changed in memory only: the caller's
    `licence_receive_number` saves it with its rule 8 counters. The result says what was
    restored or bought for it, and the invoice of a purchase.
    """
    allocation = Allocation(org, [(member, line)], at=at)
    pick = allocation.choose(
        member=member,
        line=line,
        number_type=number_type,
        licence_type=licence_type,
        licence=licence,
    )
    target = allocation.place(pick, member=member, line=line, number_type=number_type)
    return target, allocation.supply.commit(actor=actor)
