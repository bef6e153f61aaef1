"""Planning a mass configuration (rule 23): every check against the organisation's state, read
in a fixed number of queries, and what each row will do. Writes nothing."""

import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Coalesce

from accounts.models import Organisation
from billing.restriction import organisation_is_restricted
from licensing.mass_config.cells import _CellChecks, _Row
from licensing.mass_config.reading import (
    EXT,
    NUMBER,
    PHONE_SYSTEM,
    InputRow,
    RowError,
)
from licensing.mass_config.results import PlannedRow, Report
from licensing.models import Licence, LicenceKind, LicenceStatus, LicenceType
from licensing.services import LicenceSupply
from numbering.capacity import (
    can_receive_number,
    has_changes_left,
    has_free_slot,
    receiving_counts_as_change,
    within_plan_cap,
)
from numbering.models import NumberStatus, PhoneNumber
from telecom.errors import NoLicenceAvailable

MAX_REPORTED_ERRORS = 1000
# A background check reports its progress every so many rows (licensing/mass_config/checks.py).
PROGRESS_EVERY = 500
Progress = Callable[[int, int], None]


# --- planning (batched reads) ---------------------------------------------------------------


@dataclass
class _Candidate:
    """An existing phone-system licence a row may use."""

    id: uuid.UUID
    member_id: uuid.UUID | None
    extension: str | None
    numbers_received: int
    number_changes_used: int
    held: list[tuple[str, str]] = field(default_factory=list)  # (e164, number type)


class _Planner(_CellChecks):
    """Validates rows against the organisation and decides what each does. Reads only."""

    def __init__(self, organisation: Organisation, rows: list[InputRow], *, at: datetime):
        self.org = organisation
        self.rows = rows
        self.at = at
        self.errors: list[RowError] = []
        self.phone_system = LicenceType.objects.get(code=PHONE_SYSTEM)
        self.allowed = set(self.phone_system.addons.values_list("code", flat=True))
        self.addon_types = {t.code: t for t in LicenceType.objects.filter(kind=LicenceKind.ADDON)}
        self.capacity = self.phone_system.number_capacity
        self.max_changes = self.phone_system.max_number_changes
        # Licences the rows' own do not cover: a free one, else one scheduled for removal
        # restored, else bought, else refused (rules 2, 13 and 1), as every other path obtains
        # them. Read-only here: the apply restores and buys what `supply` took.
        # Free licences with an extension are kept for the rows that name their extension.
        self.supply = LicenceSupply(
            organisation,
            at=at,
            lock=False,
            window=max(1, len(rows)),
            free=Q(extension__isnull=True),
        )
        self.supply.expect([self.phone_system, *self.addon_types.values()])

    def error(self, row: int | None, column: str | None, code: str, message: str) -> None:
        self.errors.append(RowError(row, column, code, message))

    # -- the organisation's state, in a few queries

    def _load(self, ready: list[_Row]) -> None:
        org = self.org
        fields = ("id", "member_id", "extension", "numbers_received", "number_changes_used")
        self.by_extension = {
            values["extension"]: values
            for values in Licence.objects.filter(
                organisation=org, extension__in=[r.extension for r in ready]
            ).values(*fields, "licence_type_id", "line_id")
        }
        member_ids = {r.member["id"] for r in ready}
        mine = (
            Licence.objects.filter(
                organisation=org,
                licence_type=self.phone_system,
                status=LicenceStatus.ACTIVE,
                member_id__in=member_ids,
                extension__isnull=True,
            )
            .order_by("purchased_at", "pk")
            .values(*fields)
        )
        self.by_member: dict = defaultdict(list)
        candidates: dict[uuid.UUID, _Candidate] = {}
        for values in mine:
            candidate = _Candidate(**values)
            candidates[candidate.id] = candidate
            self.by_member[candidate.member_id].append(candidate)
        for values in self.by_extension.values():
            if values["licence_type_id"] == self.phone_system.pk and not values["line_id"]:
                candidates[values["id"]] = _Candidate(**{k: values[k] for k in fields})
        self.candidates = candidates
        for licence_id, e164, number_type in (
            PhoneNumber.objects.held()
            .filter(licence_id__in=list(candidates))
            .values_list("licence_id", "e164", "number_type")
        ):
            candidates[licence_id].held.append((e164, number_type))
        self.held_count = Counter(
            dict(
                PhoneNumber.objects.held()
                .filter(organisation=org)
                .annotate(holder=Coalesce("licence__member_id", "licence__base_licence__member_id"))
                .filter(holder__in=member_ids)
                .order_by()
                .values("holder")
                .annotate(n=Count("pk"))
                .values_list("holder", "n")
            )
        )

    # -- deciding

    def _number(self, row: _Row, new_by_member: Counter) -> tuple[str, dict] | None:
        """("held", live row) for a number the member holds, ("new", inventory) otherwise."""
        r = row.source.row
        live = self.live.get(row.e164)
        if live is not None:
            if (
                live["organisation_id"] == self.org.pk
                and live["status"] == NumberStatus.ASSIGNED
                and live["holder"] == row.member["id"]
            ):
                return "held", live
            mine = live["organisation_id"] == self.org.pk  # another's is never revealed
            self.error(
                r,
                NUMBER,
                "number_unavailable",
                f"{row.e164} is in use (or in quarantine) and not {row.source.user}'s."
                if mine
                else f"{row.e164} is not available.",
            )
            return None
        available = self.available.get(row.e164)
        if available is None:
            self.error(
                r, NUMBER, "number_unavailable", f"{row.e164} is not among the available numbers."
            )
            return None
        cap = self.org.max_numbers_per_member
        member_id = row.member["id"]
        if not within_plan_cap(
            held=self.held_count[member_id] + new_by_member[member_id], adding=1, cap=cap
        ):
            self.error(
                r,
                NUMBER,
                "plan_number_limit_reached",
                f"{row.source.user} would hold more than the {self.org.plan} plan's {cap} numbers.",
            )
            return None
        new_by_member[member_id] += 1
        return "new", {"country": available.country, "number_type": available.number_type}

    def _licence(
        self, row: _Row, claimed: set, number: tuple[str, dict] | None
    ) -> tuple[_Candidate | None, str] | None:
        """Rule 2 for a row: its extension's licence, the member's, a free one, or a purchase."""
        existing = self.by_extension.get(row.extension)
        r, member_id = row.source.row, row.member["id"]
        if existing is not None:
            candidate = self.candidates.get(existing["id"])
            if (
                candidate is None
                or candidate.id in claimed
                or candidate.member_id not in (None, member_id)
            ):
                self.error(
                    r, EXT, "extension_taken", f"Extension {row.extension} is already in use."
                )
                return None
            return candidate, "extension"
        options = [c for c in self.by_member.get(member_id, []) if c.id not in claimed]
        held_on = number[1]["licence_id"] if number and number[0] == "held" else None
        chosen = next((c for c in options if c.id == held_on), None)
        if chosen is None and number:
            chosen = next(
                (c for c in options if self._can_receive(c, number[1]["number_type"])), None
            )
        elif chosen is None:
            chosen = options[0] if options else None
        if chosen is not None:
            return chosen, "member"
        try:
            # A free one (a row without a number takes one with its changes used first), else a
            # licence scheduled for removal restored, else one bought (rules 2, 13, 1).
            licence = self.supply.take(
                self.phone_system,
                accept=self._can_take_number if row.e164 else None,
                prefer=None if row.e164 else self._spent,
            )
        except NoLicenceAvailable:
            self.error(
                r,
                EXT,
                "no_licence_available",
                "No free phone-system licence is left "
                "for this row and the licence policy is to refuse; buy more first.",
            )
            return None
        source = self.supply.source_of(licence)
        if source == "purchase":
            return None, source
        return _Candidate(
            licence.pk, None, None, licence.numbers_received, licence.number_changes_used
        ), source

    def _can_take_number(self, licence: Licence) -> bool:
        return has_changes_left(
            numbers_received=licence.numbers_received,
            changes_used=licence.number_changes_used,
            max_changes=self.max_changes,
            capacity=self.capacity,
        )

    def _spent(self, licence: Licence) -> bool:
        return not self._can_take_number(licence)

    def _can_receive(self, licence: _Candidate, number_type: str) -> bool:
        return can_receive_number(
            capacity=self.capacity,
            held=Counter(t for _, t in licence.held),
            number_type=number_type,
            numbers_received=licence.numbers_received,
            changes_used=licence.number_changes_used,
            max_changes=self.max_changes,
        )

    def plan(self, progress: Progress | None = None) -> list[PlannedRow]:
        ready = self._cells()
        self._load(ready)
        planned: list[PlannedRow] = []
        claimed: set[uuid.UUID] = set()
        new_by_member: Counter = Counter()
        for index, row in enumerate(ready):
            if progress is not None and index % PROGRESS_EVERY == 0:
                progress(index, len(ready))
            number = self._number(row, new_by_member) if row.e164 else None
            if row.e164 and number is None:
                continue
            choice = self._licence(row, claimed, number)
            if choice is None:
                continue
            licence, source = choice
            plan = PlannedRow(
                row=row.source.row,
                extension=row.extension,
                member_id=row.member["id"],
                member=row.member["email"],
                licence_id=licence.id if licence else None,
                licence_source=source,
                assigns_licence=licence is None or licence.member_id != row.member["id"],
                sets_extension=licence is None or licence.extension != row.extension,
                numbers_received=licence.numbers_received if licence else 0,
                number_changes_used=licence.number_changes_used if licence else 0,
            )
            if licence is not None:
                claimed.add(licence.id)
            if number is not None and not self._place_number(plan, row, licence, number):
                continue
            planned.append(plan)
        return planned

    def _place_number(
        self, plan: PlannedRow, row: _Row, licence: _Candidate | None, number: tuple[str, dict]
    ) -> bool:
        kind, values = number
        plan.e164 = row.e164
        plan.number_country, plan.number_type = values["country"], values["number_type"]
        if kind == "held":
            plan.number_id = values["id"]
            if licence is not None and values["licence_id"] == licence.id:
                plan.number_action = "kept"
                return True
        plan.number_action = "move" if kind == "held" else "new"
        if licence is not None:
            r = row.source.row
            if not has_free_slot(
                self.capacity, Counter(t for _, t in licence.held), plan.number_type
            ):
                self.error(
                    r,
                    NUMBER,
                    "licence_full",
                    f"Extension {row.extension}'s licence "
                    f"already holds {licence.held[0][0]}; delete that number first.",
                )
                return False
            if not self._can_receive(licence, plan.number_type):
                self.error(
                    r,
                    NUMBER,
                    "number_change_limit_reached",
                    f"Extension "
                    f"{row.extension}'s licence has used its {self.max_changes} number "
                    "changes.",
                )
                return False
        if receiving_counts_as_change(
            numbers_received=plan.numbers_received, capacity=self.capacity
        ):
            plan.number_changes_used += 1
        plan.numbers_received += 1
        return True

    def addons(self, planned: list[PlannedRow]) -> None:
        """Each row's add-ons become its licence's full set: a free add-on licence, else one
        scheduled for removal restored, else one bought or refused (`supply`)."""
        rows_by_licence = {p.licence_id: p for p in planned if p.licence_id}
        holds_number = PhoneNumber.objects.held().filter(licence=OuterRef("pk"))
        current: dict = defaultdict(dict)
        for addon_id, base_id, code, holds in (
            Licence.objects.filter(
                base_licence_id__in=list(rows_by_licence), status=LicenceStatus.ACTIVE
            )
            .annotate(holds=Exists(holds_number))
            .values_list("id", "base_licence_id", "licence_type__code", "holds")
        ):
            current[base_id][code] = (addon_id, holds)
        pool: dict[str, deque] = defaultdict(deque)
        wanted_by_row = {}
        source_rows = {r.row: r for r in self.rows}
        for plan in planned:
            wanted = list(dict.fromkeys(code for _, code in source_rows[plan.row].addons))
            wanted_by_row[plan.row] = wanted
            for code, (addon_id, holds) in current.get(plan.licence_id, {}).items():
                if code not in wanted and not holds:
                    plan.detach.append(addon_id)
                    plan.addons_detached.append(code)
                    pool[code].append(addon_id)
        for plan in planned:
            columns = dict((code, column) for column, code in source_rows[plan.row].addons)
            have = current.get(plan.licence_id, {})
            for code in wanted_by_row[plan.row]:
                if code in have:
                    continue
                if pool[code]:  # detached from another row of the file
                    plan.attach.append((code, pool[code].popleft()))
                    plan.addons_attached.append(code)
                    continue
                try:
                    licence = self.supply.take(self.addon_types[code])
                except NoLicenceAvailable:
                    self.error(
                        plan.row,
                        columns[code],
                        "no_licence_available",
                        f"No free {code} add-on licence is left for this row and the "
                        "licence policy is to refuse; buy more first.",
                    )
                    continue
                source = self.supply.source_of(licence)
                if source == "purchase":
                    plan.attach.append((code, None))
                    plan.addons_bought.append(code)
                else:
                    plan.attach.append((code, licence.pk))
                if source == "restore":
                    plan.addons_restored.append(code)
                plan.addons_attached.append(code)


def _sorted(found: list[RowError]) -> list[RowError]:
    ordered = sorted(found, key=lambda e: e.row or 0)
    if len(ordered) <= MAX_REPORTED_ERRORS:
        return ordered
    kept = ordered[:MAX_REPORTED_ERRORS]
    return [
        *kept,
        RowError(None, None, "too_many_errors", f"… and {len(ordered) - len(kept)} more errors."),
    ]


def build_report(
    organisation: Organisation,
    rows: list[InputRow],
    *,
    at: datetime,
    progress: Progress | None = None,
) -> Report:
    """`progress(done, total)` is called as rows are checked (a background check shows it)."""
    planner = _Planner(organisation, rows, at=at)
    planned = planner.plan(progress)
    planner.addons(planned)
    supply = planner.supply
    purchases = Counter(licence.licence_type for licence in supply.bought)
    found = planner.errors
    if organisation.closed_at:
        found.append(RowError(None, None, "account_restricted", "This organisation is closed."))
    elif (purchases or any(p.number_action == "new" for p in planned)) and (
        organisation_is_restricted(organisation, at=at)
    ):
        found.append(
            RowError(
                None,
                None,
                "account_restricted",
                "The account is restricted (no payment method, or an invoice "
                "overdue): it cannot buy licences or take new numbers.",
            )
        )
    if found:
        return Report(errors=_sorted(found), currency=organisation.currency)
    return Report(
        errors=[],
        rows=planned,
        quote=supply.quote() if supply.bought or supply.restored else None,
        currency=organisation.currency,
        purchases={t.code: n for t, n in purchases.items()},
        restored=list(supply.restored),
    )
