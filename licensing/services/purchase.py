"""Obtaining licences (rules 1, 13 and rule 2's free licence): `LicenceSupply` takes a free one,
else restores one scheduled for removal, else buys pro rata or refuses; the purchase review and
invoice lines."""

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from accounts.audit import audit_record_many
from accounts.models import LicencePolicy, Organisation
from billing.models import Invoice, InvoiceKind, InvoiceLineKind
from billing.profile import vat_preview
from billing.proration import prorate
from billing.quotes import Quote, QuoteLine
from billing.selectors import organisation_period, organisation_today
from billing.services import invoice_issue
from licensing.models import (
    Licence,
    LicenceStatus,
    LicenceType,
)
from licensing.selectors import (
    licence_type_price,
    restorable_licences,
)
from licensing.services.checks import _ensure_open, ensure_not_restricted, licences_of
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
        **vat_preview(organisation),
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
        self._withdrawn: set = set()  # free licences callers took themselves
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
            accepted = [
                c for c in queue if c.pk not in self._withdrawn and (accept is None or accept(c))
            ]
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

    def withdraw(self, licence: Licence) -> None:
        """A free licence the caller took itself (one named): never given by `take` again."""
        self._withdrawn.add(licence.pk)

    def refuses(self, licence_type: LicenceType) -> bool:
        """Whether a licence of this type that must be bought is refused (rule 1 under the
        `block` policy, when `refuse_by_policy`)."""
        try:
            if self.refuse_by_policy:
                refuse_unless_auto_purchase(self.org, licence_type)
        except errors.NoLicenceAvailable:
            return True
        return False

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
