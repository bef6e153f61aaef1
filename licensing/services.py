"""Licences: buy, remove, restore, terminate, assign, add-ons, extensions (rules 1-2, 11-15, 18).

Every public function is one transaction that locks the organisation row first
(`telecom.locks`), then the licences it changes, and checks its rule on the locked rows.
"""

import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from accounts.audit import audit_record, audit_record_many
from accounts.models import LicencePolicy, MemberStatus, Organisation
from accounts.selectors import organisation_is_restricted
from billing.models import Invoice, InvoiceKind, InvoiceLineKind
from billing.proration import prorate
from billing.quotes import Quote, QuoteLine
from billing.selectors import organisation_period, organisation_today
from billing.services import invoice_issue
from licensing.models import (
    Licence,
    LicenceKind,
    LicencePrice,
    LicenceStatus,
    LicenceType,
    Line,
)
from licensing.selectors import (
    licence_type_price,
    removal_has_taken_effect,
    restorable_licences,
)
from telecom import errors
from telecom.locks import organisation_for_update
from telecom.quantities import validate_quantity

FREE_LICENCE_SCAN = 50  # free licences looked at before buying when some cannot serve


@dataclass(frozen=True)
class PurchaseResult:
    restored: list[Licence]
    purchased: list[Licence]
    invoice: Invoice | None

    @property
    def licences(self) -> list[Licence]:
        return self.restored + self.purchased

    @property
    def total(self) -> Decimal:
        """What the buyer pays: the invoice's total; restoring alone costs nothing (rule 13)."""
        return self.invoice.total if self.invoice else Decimal("0.00")


@dataclass(frozen=True)
class RemovalResult:
    licences: list[Licence]
    effective_on: object  # date: the first day without the licences
    termination_fee: Decimal


@dataclass(frozen=True)
class AllocationResult:
    licence: Licence
    purchased: bool
    invoice: Invoice | None


# --- checks ---------------------------------------------------------------------------------


def ensure_not_restricted(organisation: Organisation, *, at: datetime | None = None) -> None:
    """Rule 18: a restricted (or closed) organisation cannot buy, assign new numbers or port."""
    _ensure_open(organisation)
    if organisation_is_restricted(organisation, at=at):
        raise errors.AccountRestricted()


def _ensure_open(organisation: Organisation) -> None:
    """Rule 19: a closed organisation's licences end at period end; nothing brings them back."""
    if organisation.closed_at:
        raise errors.AccountRestricted("This organisation is closed.")


def _ensure_same_organisation(organisation: Organisation, *objects) -> None:
    # Callers resolve ids within the organisation already; this guards every other path.
    for obj in objects:
        if obj is not None and obj.organisation_id != organisation.pk:
            raise Licence.DoesNotExist()


def _lock_licence(licence: Licence) -> Licence:
    return (
        Licence.objects.select_for_update(of=("self",))
        .select_related("licence_type")
        .get(pk=licence.pk, organisation_id=licence.organisation_id)
    )


# --- quotes ---------------------------------------------------------------------------------


def purchase_lines(
    organisation: Organisation, quantities: dict[LicenceType, int], *, at: datetime | None
) -> list[QuoteLine]:
    """Rule 13: one pro rata line per type, from today to the period's end (docs/rules.md)."""
    period = organisation_period(organisation, at=at)
    today = max(organisation_today(organisation, at=at), period.start)
    days_left = (period.end - today).days
    lines = []
    for licence_type, quantity in quantities.items():
        if quantity < 1:
            continue
        unit_price = licence_type_price(
            licence_type=licence_type,
            currency=organisation.currency,
            frequency=organisation.billing_frequency,
        )
        amount = prorate(unit_price=unit_price, quantity=quantity, period=period, on=today)
        lines.append(
            QuoteLine(
                description=(
                    f"{licence_type.name} × {quantity}, {today:%d %b %Y} to "
                    f"{period.last_day:%d %b %Y} ({days_left}/{period.days} days)"
                ),
                kind=InvoiceLineKind.PRORATION,
                licence_type=licence_type,
                quantity=quantity,
                unit_price=unit_price,
                period_start=today,
                period_end=period.last_day,
                amount=amount,
            )
        )
    return lines


def purchase_quote(organisation, lines, *, restored=0, purchased=0) -> Quote:
    return Quote(
        currency=organisation.currency,
        tax_rate=organisation.tax_rate,
        lines=lines,
        restored=restored,
        purchased=purchased,
    )


def licences_purchase_quote(
    *,
    organisation: Organisation,
    licence_type: LicenceType,
    quantity: int,
    at: datetime | None = None,
) -> Quote:
    """The review shown before buying (rule 13): what is restored, what is bought, what it costs.

    The same decisions as `licences_purchase`, read without locking or writing."""
    validate_quantity(quantity)
    supply = LicenceSupply(organisation, at=at, lock=False, window=quantity, refuse_by_policy=False)
    for _ in range(quantity):
        supply.take(licence_type, free=False)  # buying N restores, then buys: never a free one
    return supply.quote()


# --- buying ---------------------------------------------------------------------------------


def licences_buy_locked(
    organisation: Organisation, new: list[Licence], *, actor, at: datetime | None
) -> Invoice:
    """Insert these new (unsaved) licences and issue their pro rata invoice, a line per type.

    The caller holds the organisation lock. The licences may already carry their assignee and
    number counters (a batch of numbers buys its licences this way, in one INSERT).
    """
    ensure_not_restricted(organisation, at=at)
    at = at or timezone.now()
    for licence in new:
        licence.organisation, licence.purchased_at = organisation, at
    Licence.objects.bulk_create(new)
    quantities = Counter(licence.licence_type for licence in new)
    lines = purchase_lines(organisation, quantities, at=at)
    quote = purchase_quote(organisation, lines, purchased=len(new))
    invoice = invoice_issue(
        organisation=organisation, kind=InvoiceKind.PURCHASE, quote=quote, actor=actor, at=at
    )
    audit_record_many(
        organisation=organisation,
        actor=actor,
        action="licence.purchased",
        targets=new,
        changes={"invoice": invoice.number},
    )
    return invoice


def refuse_unless_auto_purchase(organisation: Organisation, licence_type: LicenceType) -> None:
    """Rule 1 under the `block` policy: no licence is bought on the way, the change is refused."""
    if organisation.licence_policy == LicencePolicy.BLOCK:
        raise errors.NoLicenceAvailable(
            f"No free {licences_of(licence_type, 1)} is available and the licence policy is "
            "to refuse; buy one first."
        )


_RESTORED_FIELDS = [
    "status",
    "removal_effective_on",
    "member",
    "line",
    "base_licence",
    "numbers_received",
    "number_changes_used",
]


class LicenceSupply:
    """Obtaining licences of a type (rules 1, 13 and rule 2's second choice,
    docs/rules.md#rule-13): each licence taken is a free one of the type (oldest first), else
    one scheduled for removal whose removal has not taken effect, restored at no charge, else
    a new one bought pro rata (or refused under the `block` licence policy when
    `refuse_by_policy`).

    Every path that obtains licences asks this one class: buying, allocation, number
    assignment (single and batch, through `numbering.allocation`), reassignment, recovery,
    porting reservations, add-ons and mass configuration. `take` decides in memory, under the
    organisation's lock held by the caller (with `lock=False`, read-only, for the previews);
    `quote` is what the review shows; `commit` restores and buys exactly that, on one invoice
    (a free licence taken is the caller's to write, with its assignee). `window` is how many
    licences of one type a caller may take at most (its batch's size): that many candidates
    are read, then `FREE_LICENCE_SCAN` more free ones when some cannot serve. `free` narrows
    which free licences a caller takes (mass configuration leaves those with an extension to
    the rows naming it).
    """

    def __init__(
        self,
        organisation: Organisation,
        *,
        at: datetime | None = None,
        lock: bool = True,
        window: int = 1,
        refuse_by_policy: bool = True,
        free: Q | None = None,
    ):
        self.org = organisation
        self.at = at or timezone.now()
        self.lock, self.window = lock, max(1, window)
        self.refuse_by_policy = refuse_by_policy
        self.restored: list[Licence] = []
        self.bought: list[Licence] = []
        self._free_filter = free
        self._free: dict = {}  # licence type id -> list of free licences not yet taken
        self._free_read: Counter = Counter()
        self._free_exhausted: set = set()
        self._restorable: dict = {}  # licence type id -> deque of restorable licences
        self._restored_ids: set = set()
        self._expected: set = set()

    def is_restored(self, licence: Licence) -> bool:
        """Whether `take` gave this licence by restoring it (else it is free or to buy)."""
        return licence.pk in self._restored_ids

    def source_of(self, licence: Licence) -> str:
        """How `take` gave this licence: "free", "restore" or "purchase" (a new one to buy)."""
        if licence._state.adding:
            return "purchase"
        return "restore" if self.is_restored(licence) else "free"

    def expect(self, licence_types) -> None:
        """Types this batch may take: unlocked, the first need reads them all in one query."""
        self._expected.update(getattr(t, "pk", t) for t in licence_types)

    def _ranked(self, licences, unread: set, order: list, store: dict, factory) -> None:
        """One read for several types: up to `window` of each (PostgreSQL refuses FOR UPDATE
        with a window function: only unlocked reads share one)."""
        ranked = (
            licences.filter(licence_type__in=unread)
            .select_related("licence_type")
            .annotate(rank=Window(RowNumber(), partition_by=F("licence_type_id"), order_by=order))
            .filter(rank__lte=self.window)
        )
        for unread_id in unread:
            store[unread_id] = factory()
        for licence in ranked:
            store[licence.licence_type_id].append(licence)

    def _free_of(self, type_id) -> QuerySet:
        free = Licence.objects.filter(organisation=self.org).free()
        if self._free_filter is not None:
            free = free.filter(self._free_filter)
        return free if type_id is None else free.filter(licence_type=type_id)

    def _free_queue(self, licence_type: LicenceType | int) -> list:
        type_id = getattr(licence_type, "pk", licence_type)
        if type_id in self._free:
            return self._free[type_id]
        unread = (self._expected | {type_id}) - set(self._free)
        if len(unread) == 1:
            self._free[type_id] = list(
                self._free_of(type_id).select_related("licence_type")[: self.window]
            )
        else:
            order = [F("purchased_at").asc(), F("pk").asc()]
            self._ranked(self._free_of(None), unread, order, self._free, list)
        for read_id in unread:
            self._free_read[read_id] = len(self._free[read_id])
            if self._free_read[read_id] < self.window:
                self._free_exhausted.add(read_id)
        return self._free[type_id]

    def _read_more_free(self, type_id) -> None:
        start = self._free_read[type_id]
        page = list(
            self._free_of(type_id).select_related("licence_type")[start : start + FREE_LICENCE_SCAN]
        )
        self._free_read[type_id] += len(page)
        if len(page) < FREE_LICENCE_SCAN:
            self._free_exhausted.add(type_id)
        self._free[type_id].extend(page)

    def peek_free(
        self,
        licence_type: LicenceType | int,
        *,
        accept: Callable[[Licence], bool] | None = None,
        prefer: Callable[[Licence], bool] | None = None,
    ) -> Licence | None:
        """The free licence of this type `take` would give next (oldest first), if any:
        `accept` skips those that cannot serve (one that has used its number changes, for a
        number); among those read, the first `prefer` likes comes first. Nothing is taken;
        `FREE_LICENCE_SCAN` more are read when all those read are refused, up to that many."""
        type_id = getattr(licence_type, "pk", licence_type)
        queue = self._free_queue(type_id)
        while True:
            accepted = [c for c in queue if accept is None or accept(c)]
            if accepted:
                liked = (c for c in accepted if prefer is not None and prefer(c))
                return next(liked, accepted[0])
            if type_id in self._free_exhausted or len(queue) >= FREE_LICENCE_SCAN:
                return None
            self._read_more_free(type_id)

    def _queue(self, licence_type: LicenceType | int) -> deque:
        type_id = getattr(licence_type, "pk", licence_type)
        if type_id in self._restorable:
            return self._restorable[type_id]
        unread = (self._expected | {type_id}) - set(self._restorable)
        if self.lock or len(unread) == 1:
            candidates = restorable_licences(
                organisation=self.org, licence_type=type_id, at=self.at
            ).select_related("licence_type")
            if self.lock:
                candidates = candidates.select_for_update(of=("self",))
            self._restorable[type_id] = deque(candidates[: self.window])
            return self._restorable[type_id]
        order = [F("removal_effective_on").asc(), F("pk").asc()]
        restorable = restorable_licences(organisation=self.org, licence_type=None, at=self.at)
        self._ranked(restorable, unread, order, self._restorable, deque)
        return self._restorable[type_id]

    def peek(
        self, licence_type: LicenceType | int, *, accept: Callable[[Licence], bool] | None = None
    ) -> Licence | None:
        """The licence of this type `take` would restore next, if any (nothing is taken)."""
        return next((c for c in self._queue(licence_type) if accept is None or accept(c)), None)

    def will_restore(
        self, licence_type: LicenceType | int, *, accept: Callable[[Licence], bool] | None = None
    ) -> bool:
        """Whether the next licence of this type taken is a restored one (no charge)."""
        return self.peek(licence_type, accept=accept) is not None

    def source(
        self,
        licence_type: LicenceType | int,
        *,
        accept: Callable[[Licence], bool] | None = None,
        free: bool = True,
    ) -> tuple[str, Licence | None]:
        """What `take` would do now: ("free", licence), ("restore", licence) or
        ("purchase", None) — a purchase the `block` policy refuses only when taken."""
        licence = self.peek_free(licence_type, accept=accept) if free else None
        if licence is not None:
            return "free", licence
        licence = self.peek(licence_type, accept=accept)
        return ("restore", licence) if licence is not None else ("purchase", None)

    def take(
        self,
        licence_type: LicenceType,
        *,
        accept: Callable[[Licence], bool] | None = None,
        prefer: Callable[[Licence], bool] | None = None,
        free: bool = True,
    ) -> Licence:
        """The next licence of this type: a free one (unless `free` is False: the caller looked
        already), else a restored one (active in memory), else a new one (unsaved). `accept`
        skips licences that cannot serve, `prefer` orders the free ones (`peek_free`). The
        caller may set the licence's assignee, base licence and number counters; `commit`
        writes the restored and bought ones, the caller the free ones."""
        licence = self.peek_free(licence_type, accept=accept, prefer=prefer) if free else None
        if licence is not None:
            self._free[licence.licence_type_id].remove(licence)
            return licence
        licence = self.peek(licence_type, accept=accept)
        if licence is not None:
            self._queue(licence_type).remove(licence)
            licence.status, licence.removal_effective_on = LicenceStatus.ACTIVE, None
            self.restored.append(licence)
            self._restored_ids.add(licence.pk)
            return licence
        if self.refuse_by_policy:
            refuse_unless_auto_purchase(self.org, licence_type)
        licence = Licence(organisation=self.org, licence_type=licence_type)
        self.bought.append(licence)
        return licence

    def quote(self) -> Quote:
        """The review: restored licences at no charge, bought ones with the invoice's lines."""
        quantities = Counter(licence.licence_type for licence in self.bought)
        return purchase_quote(
            self.org,
            purchase_lines(self.org, quantities, at=self.at),
            restored=len(self.restored),
            purchased=len(self.bought),
        )

    def commit(self, *, actor) -> PurchaseResult:
        """Restore the licences taken for restoring, buy the others (one invoice)."""
        if self.restored:
            licences_restore_locked(self.org, self.restored, actor=actor)
        invoice = None
        if self.bought:
            invoice = licences_buy_locked(self.org, self.bought, actor=actor, at=self.at)
        result = PurchaseResult(
            restored=list(self.restored), purchased=list(self.bought), invoice=invoice
        )
        self.restored, self.bought, self._restored_ids = [], [], set()
        return result


def licences_restore_locked(organisation: Organisation, licences: list[Licence], *, actor) -> None:
    """Write these restored licences (already active in memory, maybe with an assignee) and
    audit each as restored at no charge. The caller holds the organisation lock."""
    for licence in licences:
        licence.status, licence.removal_effective_on = LicenceStatus.ACTIVE, None
    Licence.objects.bulk_update(licences, _RESTORED_FIELDS)
    audit_record_many(
        organisation=organisation,
        actor=actor,
        action="licence.restored",
        targets=licences,
        changes={"charge": "0.00"},
    )


@transaction.atomic
def licences_purchase(
    *,
    organisation: Organisation,
    licence_type: LicenceType,
    quantity: int,
    actor,
    at: datetime | None = None,
) -> PurchaseResult:
    """Rule 13: restore scheduled removals of the type first (free), then buy the rest pro rata.

    A licence whose removal has taken effect is not restored (a new one is bought instead)."""
    validate_quantity(quantity)
    org = organisation_for_update(organisation.pk)
    _ensure_open(org)
    supply = LicenceSupply(org, at=at, window=quantity, refuse_by_policy=False)
    for _ in range(quantity):
        supply.take(licence_type, free=False)  # buying N restores, then buys: never a free one
    return supply.commit(actor=actor)


def licence_obtain_locked(
    *,
    organisation: Organisation,
    licence_type: LicenceType,
    actor,
    at: datetime | None = None,
    accept: Callable[[Licence], bool] | None = None,
) -> tuple[Licence, Invoice | None]:
    """Rules 1, 2 and 13 for one licence: a free licence of the type, else one scheduled for
    removal restored at no charge, else buy one or refuse, by licence policy (`LicenceSupply`).

    The caller holds the organisation's lock, which serialises every licence decision of the
    organisation: two callers can never both take the last free licence. `accept` skips
    licences that cannot serve (say, one that has used all its number changes).
    """
    supply = LicenceSupply(organisation, at=at)
    licence = supply.take(licence_type, accept=accept)
    return licence, supply.commit(actor=actor).invoice


def check_assignee(organisation, member, line) -> None:
    if (member is None) == (line is None):
        raise ValidationError("Give exactly one of a member or a line.", code="invalid")
    _ensure_same_organisation(organisation, member, line)
    if member is not None and member.status == MemberStatus.DEACTIVATED:
        raise ValidationError(
            {"member": ValidationError("This member is deactivated.", code="deactivated")}
        )


@transaction.atomic
def licence_allocate(
    *,
    organisation: Organisation,
    licence_type: LicenceType,
    actor,
    member=None,
    line: Line | None = None,
    at: datetime | None = None,
) -> AllocationResult:
    """Give a member or line a licence of a type: a free one, else rule 1 (buy or refuse)."""
    org = organisation_for_update(organisation.pk)
    check_assignee(org, member, line)
    if licence_type.kind != LicenceKind.BASE:
        raise errors.AddonNotAllowed("Add-ons are attached to a base licence, not assigned.")
    licence, invoice = licence_obtain_locked(
        organisation=org, licence_type=licence_type, actor=actor, at=at
    )
    licence.member, licence.line = member, line
    licence.save(update_fields=["member", "line"])
    audit_record(
        organisation=org,
        actor=actor,
        action="licence.assigned",
        target=licence,
        changes={"member": str(member) if member else None, "line": str(line) if line else None},
    )
    return AllocationResult(licence=licence, purchased=invoice is not None, invoice=invoice)


# --- removal, termination, restore (rules 14-16) ---------------------------------------------


def _termination_fee(organisation, licence_type, quantity, effective_on) -> Decimal:
    """Rule 16: what removing `quantity` more licences costs under a commitment, if any."""
    from billing.commitments import termination_fee
    from billing.models import Commitment

    commitment = Commitment.objects.filter(
        organisation=organisation, licence_type=licence_type, ends_on__gt=effective_on
    ).first()
    if commitment is None:
        return Decimal("0.00")
    remaining = (
        Licence.objects.filter(
            organisation=organisation, licence_type=licence_type, status=LicenceStatus.ACTIVE
        ).count()
        - quantity
    )
    monthly = LicencePrice.objects.get(
        licence_type=licence_type, currency=organisation.currency
    ).monthly
    return termination_fee(
        monthly_price=monthly,
        committed=commitment.quantity,
        remaining=remaining,
        removed=quantity,
        effective_on=effective_on,
        ends_on=commitment.ends_on,
    )


def _removal_effective_on(organisation, *, at) -> date:
    """Rule 14: a removal asked now takes effect at the current period's end."""
    return organisation_period(organisation, at=at).end


def _removal_terms(organisation, licence_type, quantity, *, at) -> tuple:
    """When a removal asked now takes effect and the rule 16 fee it causes: what every removal
    review shows and every removal records."""
    effective_on = _removal_effective_on(organisation, at=at)
    return effective_on, _termination_fee(organisation, licence_type, quantity, effective_on)


def _schedule_removal(licences: list[Licence], effective_on, *, also: tuple = ()) -> None:
    """Rule 14's write: these licences are scheduled for removal on `effective_on` (billed until
    then, assignable no more) and lose their extension; `also` are fields the caller cleared."""
    for licence in licences:
        licence.status = LicenceStatus.REMOVAL_SCHEDULED
        licence.removal_effective_on = effective_on
        licence.extension = None
    Licence.objects.bulk_update(licences, ["status", "removal_effective_on", *also, "extension"])


def licences_end_all_locked(organisation: Organisation, *, actor, at, reason: str) -> tuple:
    """Rule 14 for every active licence of an organisation being closed (rule 19): unassigned,
    detached and scheduled for removal at the period's end. The caller holds the organisation's
    lock. Returns how many, and from when."""
    effective_on = _removal_effective_on(organisation, at=at)
    licences = list(
        Licence.objects.select_for_update()
        .filter(organisation=organisation, status=LicenceStatus.ACTIVE)
        .order_by("pk")
    )
    for licence in licences:
        licence.member = licence.line = licence.base_licence = None
    _schedule_removal(licences, effective_on, also=("member", "line", "base_licence"))
    audit_record_many(
        organisation=organisation,
        actor=actor,
        action="licence.terminated",
        targets=licences,
        changes={"effective_on": effective_on.isoformat(), "reason": reason},
    )
    return len(licences), effective_on


def licences_of(licence_type: LicenceType, count: int) -> str:
    """ "1 User licence", "3 Phone system licences": a type's name as a count of licences."""
    name = licence_type.name
    noun = name if name.lower().endswith("licence") else f"{name} licence"
    return noun if count == 1 else f"{noun}s"


def _not_enough_unassigned(licence_type: LicenceType, *, have: int, asked: int):
    verb = "is" if have == 1 else "are"
    return errors.NotEnoughUnassignedLicences(
        f"Only {have} {licences_of(licence_type, have)} {verb} unassigned; you asked to remove "
        f"{asked}. Nothing was scheduled."
    )


def _removal_candidates(organisation, licence_type):
    """Rule 14: active licences of the type held by nobody, newest first."""
    return (
        Licence.objects.filter(organisation=organisation, licence_type=licence_type)
        .free()
        .filter(addons__isnull=True)
        .order_by("-purchased_at", "-pk")
    )


def licences_removal_quote(
    *,
    organisation: Organisation,
    licence_type: LicenceType,
    quantity: int,
    at: datetime | None = None,
) -> RemovalResult:
    """The removal review: which licences, from when, and any termination fee. Writes nothing."""
    validate_quantity(quantity)
    candidates = list(_removal_candidates(organisation, licence_type)[:quantity])
    if len(candidates) < quantity:
        raise _not_enough_unassigned(licence_type, have=len(candidates), asked=quantity)
    effective_on, fee = _removal_terms(organisation, licence_type, quantity, at=at)
    return RemovalResult(licences=candidates, effective_on=effective_on, termination_fee=fee)


@transaction.atomic
def licences_schedule_removal(
    *,
    organisation: Organisation,
    licence_type: LicenceType,
    quantity: int,
    actor,
    at: datetime | None = None,
) -> RemovalResult:
    """Rule 14: schedule N unassigned licences for removal at the end of the current period."""
    validate_quantity(quantity)
    org = organisation_for_update(organisation.pk)
    candidates = list(
        _removal_candidates(org, licence_type).select_for_update(of=("self",))[:quantity]
    )
    if len(candidates) < quantity:
        raise _not_enough_unassigned(licence_type, have=len(candidates), asked=quantity)
    effective_on, fee = _removal_terms(org, licence_type, quantity, at=at)
    _schedule_removal(candidates, effective_on)
    audit_record_many(
        organisation=org,
        actor=actor,
        action="licence.removal_scheduled",
        targets=candidates,
        changes={"effective_on": effective_on.isoformat()},
    )
    return RemovalResult(licences=candidates, effective_on=effective_on, termination_fee=fee)


def _ensure_terminable(licence: Licence) -> None:
    """Rule 14 for one licence: active, assigned to nobody and holding nothing."""
    if licence.status != LicenceStatus.ACTIVE:
        raise errors.LicenceNotRemovable("This licence is already scheduled for removal or ended.")
    if licence.is_assigned or licence.addons.exists() or licence.numbers.held().exists():
        raise errors.LicenceInUse()


def licence_termination_quote(*, licence: Licence, at: datetime | None = None) -> RemovalResult:
    """The review before terminating one licence by UUID (rules 14 and 16): from when it is
    removed and the termination fee it causes, as `licence_terminate` computes them. Writes
    nothing; refuses as `licence_terminate` would."""
    organisation = licence.organisation
    _ensure_terminable(licence)
    effective_on, fee = _removal_terms(organisation, licence.licence_type, 1, at=at)
    return RemovalResult(licences=[licence], effective_on=effective_on, termination_fee=fee)


@transaction.atomic
def licence_terminate(*, licence: Licence, actor, at: datetime | None = None) -> Licence:
    """Rule 14 for one licence by UUID: refused while it is assigned or holds anything.

    The returned licence carries `termination_fee` (not stored): the rule 16 fee the removal
    causes, as `licence_termination_quote` showed it."""
    org = organisation_for_update(licence.organisation_id)
    licence = _lock_licence(licence)
    _ensure_terminable(licence)
    effective_on, fee = _removal_terms(org, licence.licence_type, 1, at=at)
    _schedule_removal([licence], effective_on)
    audit_record(
        organisation=org,
        actor=actor,
        action="licence.terminated",
        target=licence,
        changes={"effective_on": effective_on.isoformat(), "termination_fee": f"{fee:.2f}"},
    )
    licence.termination_fee = fee
    return licence


@transaction.atomic
def licence_restore(*, licence: Licence, actor, at: datetime | None = None) -> Licence:
    """Rule 15: undo a scheduled removal before it takes effect, at no charge.

    From the removal's effective date (local midnight in the organisation's time zone) the
    removal is done, even before the renewal job has marked the licence terminated: the restore
    is refused (`removal_already_effective`) and the termination fee it caused stays owed."""
    org = organisation_for_update(licence.organisation_id)
    _ensure_open(org)
    licence = _lock_licence(licence)
    if removal_has_taken_effect(licence, today=organisation_today(org, at=at)):
        effective_on = licence.removal_effective_on or licence.terminated_on
        when = f" on {effective_on.day} {effective_on:%b %Y}" if effective_on else ""
        raise errors.RemovalAlreadyEffective(
            f"This licence was removed{when}: it can no longer be restored. "
            "Buy a new licence instead."
        )
    if licence.status != LicenceStatus.REMOVAL_SCHEDULED:
        raise errors.LicenceNotRemovable("Only a licence scheduled for removal can be restored.")
    licences_restore_locked(org, [licence], actor=actor)
    return licence


# --- lines, assignment, add-ons, extensions --------------------------------------------------


def _line_name_taken() -> ValidationError:
    return ValidationError(
        {
            "name": ValidationError(
                "A line of this kind with this name already exists.", code="unique"
            )
        }
    )


@transaction.atomic
def line_create(*, organisation: Organisation, kind: str, name: str, actor) -> Line:
    """A non-person assignee (room phone, shared line, ...); its name is unique per kind."""
    org = organisation_for_update(organisation.pk)
    line = Line(organisation=org, kind=kind, name=name.strip())
    line.full_clean(exclude=["organisation"], validate_unique=False, validate_constraints=False)
    if Line.objects.filter(organisation=org, kind=kind, name=line.name).exists():
        raise _line_name_taken()
    try:
        with transaction.atomic():
            line.save()
    except IntegrityError as exc:  # the unique constraint behind the check above
        raise _line_name_taken() from exc
    audit_record(
        organisation=org, actor=actor, action="line.created", target=line, changes={"kind": kind}
    )
    return line


@transaction.atomic
def line_update(*, line: Line, actor, kind: str | None = None, name: str | None = None) -> Line:
    """Rename a line or change its kind; the name stays unique per kind in the organisation."""
    org = organisation_for_update(line.organisation_id)
    line = Line.objects.select_for_update().get(pk=line.pk, organisation=org)
    before = {"kind": line.kind, "name": line.name}
    if kind is not None:
        line.kind = kind
    if name is not None:
        line.name = name.strip()
    line.full_clean(exclude=["organisation"], validate_unique=False, validate_constraints=False)
    if (
        Line.objects.filter(organisation=org, kind=line.kind, name=line.name)
        .exclude(pk=line.pk)
        .exists()
    ):
        raise _line_name_taken()
    try:
        with transaction.atomic():
            line.save(update_fields=["kind", "name"])
    except IntegrityError as exc:
        raise _line_name_taken() from exc
    audit_record(
        organisation=org,
        actor=actor,
        action="line.updated",
        target=line,
        changes={"before": before, "after": {"kind": line.kind, "name": line.name}},
    )
    return line


@transaction.atomic
def line_delete(*, line: Line, actor) -> None:
    """Delete a line. Like removing a member (rule 9), its licences stay: they become unassigned,
    keeping what they hold, ready to be given to another member or line."""
    org = organisation_for_update(line.organisation_id)
    line = Line.objects.select_for_update().get(pk=line.pk, organisation=org)
    licences = list(Licence.objects.select_for_update().filter(line=line).order_by("pk"))
    for licence in licences:
        licence.line = None
    Licence.objects.bulk_update(licences, ["line"])
    audit_record(
        organisation=org,
        actor=actor,
        action="line.deleted",
        target=line,
        changes={"licences_unassigned": [str(licence.pk) for licence in licences]},
    )
    line.delete()


def _ensure_active_base(licence: Licence) -> None:
    if licence.status != LicenceStatus.ACTIVE:
        raise errors.LicenceNotActive()
    if licence.licence_type.kind != LicenceKind.BASE:
        raise errors.AddonNotAllowed("An add-on licence is attached to a base licence instead.")


_number_rules: dict[str, Callable] = {}


def register_number_rules(*, check_move: Callable, moved: Callable) -> None:
    """What licensing asks about the numbers a licence carries, answered by numbering (the layer
    above, which knows both) when its app is ready: `check_move(organisation, licence, member)`
    refuses a move that rule 5 forbids, `moved(licence)` moves its numbers' history with it
    (rules 7 and 9). Licensing does not import numbering."""
    _number_rules.update(check_move=check_move, moved=moved)


def _number_rule(name: str) -> Callable:
    try:
        return _number_rules[name]
    except KeyError:
        raise RuntimeError("numbering has not registered its number rules") from None


def _numbers_follow(licence: Licence) -> None:
    _number_rule("moved")(licence)


@transaction.atomic
def licence_assign(*, licence: Licence, actor, member=None, line: Line | None = None) -> Licence:
    """Assign (or reassign) a base licence to one member or one line."""
    org = organisation_for_update(licence.organisation_id)
    licence = _lock_licence(licence)
    check_assignee(org, member, line)
    _ensure_active_base(licence)
    before = {
        "member": str(licence.member) if licence.member_id else None,
        "line": str(licence.line) if licence.line_id else None,
    }
    if member is not None and member.pk != licence.member_id:
        _number_rule("check_move")(org, licence, member)
    licence.member, licence.line = member, line
    licence.save(update_fields=["member", "line"])
    _numbers_follow(licence)
    audit_record(
        organisation=org,
        actor=actor,
        action="licence.assigned",
        target=licence,
        changes={
            "before": before,
            "member": str(member) if member else None,
            "line": str(line) if line else None,
        },
    )
    return licence


@transaction.atomic
def licence_unassign(*, licence: Licence, actor) -> Licence:
    """Free a licence from its member or line; what it holds stays with it (rule 9)."""
    org = organisation_for_update(licence.organisation_id)
    licence = _lock_licence(licence)
    if not (licence.member_id or licence.line_id):
        return licence
    before = str(licence.member or licence.line)
    licence.member = licence.line = None
    licence.save(update_fields=["member", "line"])
    _numbers_follow(licence)
    audit_record(
        organisation=org,
        actor=actor,
        action="licence.unassigned",
        target=licence,
        changes={"before": before},
    )
    return licence


@transaction.atomic
def licence_set_addons(
    *, licence: Licence, codes: list[str], actor, at: datetime | None = None
) -> tuple[Licence, Invoice | None]:
    """Rule 11: make `codes` the base licence's full set of add-ons.

    New add-ons take a free add-on licence of their code, else one of that code scheduled for
    removal, restored at no charge, else rule 1 buys them (one invoice) or refuses
    (`LicenceSupply`); add-ons no longer wanted are detached and stay as available licences.
    """
    org = organisation_for_update(licence.organisation_id)
    licence = _lock_licence(licence)
    _ensure_active_base(licence)
    wanted_codes = list(dict.fromkeys(code.strip() for code in codes if code.strip()))
    types = {t.code: t for t in LicenceType.objects.filter(code__in=wanted_codes)}
    unknown = [code for code in wanted_codes if code not in types]
    if unknown or any(types[c].kind != LicenceKind.ADDON for c in wanted_codes if c in types):
        bad = unknown or [c for c in wanted_codes if types[c].kind != LicenceKind.ADDON]
        raise ValidationError(
            {
                "codes": ValidationError(
                    f"Unknown add-on code(s): {', '.join(bad)}.", code="unknown_addon"
                )
            }
        )
    allowed = set(licence.licence_type.addons.values_list("code", flat=True))
    refused = [code for code in wanted_codes if code not in allowed]
    if refused:
        raise errors.AddonNotAllowed(
            f"{', '.join(refused)} cannot be attached to a {licence.licence_type.name} licence."
        )
    current = {
        addon.licence_type.code: addon
        for addon in licence.addons.select_for_update(of=("self",)).select_related("licence_type")
    }
    detached = [addon for code, addon in current.items() if code not in wanted_codes]
    for addon in detached:
        addon.base_licence = None
    Licence.objects.bulk_update(detached, ["base_licence"])

    # A free add-on licence of each code, else rule 13 restores one scheduled for removal,
    # else rule 1 buys it or refuses.
    supply = LicenceSupply(org, at=at)
    attach = [supply.take(types[code]) for code in wanted_codes if code not in current]
    obtained = supply.commit(actor=actor)
    invoice = obtained.invoice
    for addon in attach:
        addon.base_licence = licence
    Licence.objects.bulk_update(attach, ["base_licence"])
    if attach or detached:
        audit_record(
            organisation=org,
            actor=actor,
            action="licence.addons_set",
            target=licence,
            changes={
                "attached": sorted(a.licence_type.code for a in attach),
                "detached": sorted(a.licence_type.code for a in detached),
            },
        )
    return licence, invoice


_EXTENSION = re.compile(r"[0-9]{2,8}")


def normalise_extension(value: str | None) -> str | None:
    """2 to 8 ASCII digits, or None. `str.isdigit` would let Arabic-Indic ('١٠١'), fullwidth
    ('１０１') or superscript digits through to the database, which refuses them
    (docs/rules.md#rule-11)."""
    value = (value or "").strip()
    if not value:
        return None
    if not _EXTENSION.fullmatch(value):
        raise ValidationError(
            {
                "extension": ValidationError(
                    "An extension is 2 to 8 digits.", code="invalid_extension"
                )
            }
        )
    return value


@transaction.atomic
def licence_set_extension(*, licence: Licence, extension: str | None, actor) -> Licence:
    """Rule 11: extensions only on types that carry one, unique within the organisation."""
    extension = normalise_extension(extension)
    org = organisation_for_update(licence.organisation_id)
    licence = _lock_licence(licence)
    if extension is not None:
        if not licence.licence_type.has_extension:
            raise errors.ExtensionNotSupported(
                f"A {licence.licence_type.name} licence does not carry an extension."
            )
        if licence.status != LicenceStatus.ACTIVE:
            raise errors.LicenceNotActive()
        if (
            Licence.objects.filter(organisation=org, extension=extension)
            .exclude(pk=licence.pk)
            .exists()
        ):
            raise errors.ExtensionTaken(f"Extension {extension} is already in use.")
    before = licence.extension
    licence.extension = extension
    try:
        with transaction.atomic():
            licence.save(update_fields=["extension"])
    except IntegrityError as exc:  # the unique constraint behind the check above
        raise errors.ExtensionTaken(f"Extension {extension} is already in use.") from exc
    audit_record(
        organisation=org,
        actor=actor,
        action="licence.extension_set",
        target=licence,
        changes={"before": before, "after": extension},
    )
    return licence
