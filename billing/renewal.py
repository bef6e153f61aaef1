"""Renewal at each period start (docs/rules.md, billing): in advance, one invoice per period.

`renewals_run` is what the Celery job and `manage.py run_billing` call. It takes due
organisations a batch at a time with `SELECT … FOR UPDATE SKIP LOCKED`, so several workers share
the work without waiting on each other, and each batch is one transaction: a worker that dies
loses at most its current batch, which the next run (or the redelivered task) does again.
Idempotency: an organisation is due while `next_renewal_at` ≤ as-of; the renewal advances it in
the same transaction as the invoice, and the unique constraint (organisation, period_start) on
renewal invoices refuses a second one even if something else went wrong.

Set-based: Python works out each organisation's dates (periods, time zones, anchor clamping;
`billing.periods`, memoised) and, in the rare case of a commitment, its termination fees; one
SQL statement (`_RENEW`) then does the rest for the whole batch — licences counted per type and
priced, pending charges and usage claimed, lines numbered, tax rounded, invoices, lines and audit
rows inserted, organisations moved on. A batch therefore costs three statements whatever its size
(bench/renewal.py). `upcoming_quote` runs that same statement for one organisation in a savepoint
and rolls it back, so the preview is the renewal's own arithmetic, not a second copy of it.
"""

import functools
import logging
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import audit_record_many
from accounts.models import Organisation
from billing.commitments import termination_fee
from billing.mail import invoices_mail_after_commit
from billing.models import Commitment, InvoiceLineKind
from billing.payments.collection import collect_after_commit
from billing.periods import Period, local_date, local_midnight, next_period, period_containing
from billing.profile import vat_preview
from billing.quotes import Quote, QuoteLine
from billing.renewal_sql import (
    _RENEW,
    _RENEW_READ_ONLY,
)
from billing.services import invoice_number
from licensing.models import Licence, LicencePrice, LicenceStatus, LicenceType
from telecom.bulk import bound_cursor
from telecom.money import to_cents

log = logging.getLogger(__name__)


class DueOrganisation(NamedTuple):
    """What a renewal reads of an organisation it holds locked: the columns, not the model (a
    batch of thousands is read this way). An `Organisation` instance has the same attributes."""

    pk: uuid.UUID
    billing_anchor: date
    billing_frequency: str
    timezone: str
    next_renewal_at: datetime
    last_invoice_sequence: int
    currency: str
    tax_rate: Decimal


def renewal_period(organisation) -> Period:
    """The period whose start the organisation's next renewal bills."""
    return _schedule_of(organisation).period


def first_renewal_at(organisation) -> datetime:
    """The first renewal is at the end of the sign-up period (its start is paid pro rata)."""
    first = period_containing(
        anchor=organisation.billing_anchor,
        frequency=organisation.billing_frequency,
        on=organisation.billing_anchor,
    )
    return local_midnight(first.end, organisation.timezone)


class _Schedule(NamedTuple):
    renewal_at: datetime  # when the renewal is due (its invoice is issued then, or when it runs)
    tz_name: str
    period: Period
    starts_at: datetime  # the period's first instant: what was held then, and charges before it
    issued_on: date  # the renewal's own day (an invoice issued late is dated when it is issued)
    following_at: datetime  # the next renewal: the following period's local midnight


@functools.lru_cache(maxsize=4096)
def _schedule(anchor: date, frequency: str, tz_name: str, renewal_at: datetime) -> _Schedule:
    """A renewal's dates. Organisations sharing an anchor day, a frequency and a time zone share
    them, so a batch of thousands computes a few dozen (the arguments are all immutable)."""
    issued_on = local_date(renewal_at, tz_name)
    period = period_containing(anchor=anchor, frequency=frequency, on=issued_on)
    following = next_period(anchor=anchor, frequency=frequency, period=period)
    return _Schedule(
        renewal_at=renewal_at,
        tz_name=tz_name,
        period=period,
        starts_at=local_midnight(period.start, tz_name),
        issued_on=issued_on,
        following_at=local_midnight(following.start, tz_name),
    )


def _schedule_of(organisation) -> _Schedule:
    return _schedule(
        organisation.billing_anchor,
        organisation.billing_frequency,
        organisation.timezone,
        organisation.next_renewal_at or first_renewal_at(organisation),
    )


@dataclass
class _Renewal:
    """One organisation's renewal in a batch."""

    organisation: DueOrganisation
    schedule: _Schedule

    @classmethod
    def of(cls, organisation) -> "_Renewal":
        return cls(organisation=organisation, schedule=_schedule_of(organisation))


def _terminate_due_removals(renewals: list[_Renewal]) -> dict[uuid.UUID, Counter]:
    """Removals take effect at period end (rule 14): terminate them before renewing.

    One UPDATE for the batch; returns, per organisation that had any, the licences terminated
    by type, for the termination fees (rule 16).
    """
    with bound_cursor() as cursor:
        cursor.execute(
            """
            UPDATE licensing_licence AS l
               SET status = %s, terminated_on = r.period_start
              FROM unnest(%b::uuid[], %b::date[]) AS r(organisation_id, period_start)
             WHERE l.organisation_id = r.organisation_id AND l.status = %s
               AND l.removal_effective_on <= r.period_start
            RETURNING l.id
            """,
            [
                LicenceStatus.TERMINATED,
                [r.organisation.pk for r in renewals],
                [r.schedule.period.start for r in renewals],
                LicenceStatus.REMOVAL_SCHEDULED,
            ],
        )
        terminated = [pk for (pk,) in cursor.fetchall()]
    if not terminated:
        return {}
    by_pk = {r.organisation.pk: r for r in renewals}
    ending: dict[uuid.UUID, Counter] = defaultdict(Counter)
    licences: dict[uuid.UUID, list[Licence]] = defaultdict(list)
    for licence in Licence.objects.filter(pk__in=terminated).select_related("licence_type"):
        ending[licence.organisation_id][licence.licence_type_id] += 1
        licences[licence.organisation_id].append(licence)
    organisations = Organisation.objects.in_bulk(list(licences))
    for org_id, ended in licences.items():
        audit_record_many(
            organisation=organisations[org_id],
            actor=None,
            action="licence.terminated_at_end",
            targets=sorted(ended, key=lambda licence: licence.pk),
            changes={"effective_on": by_pk[org_id].schedule.period.start.isoformat()},
        )
    return ending


def _removals_taking_effect(renewal: _Renewal) -> Counter:
    """What `_terminate_due_removals` would terminate for one organisation, read only."""
    return Counter(
        Licence.objects.filter(
            organisation_id=renewal.organisation.pk,
            status=LicenceStatus.REMOVAL_SCHEDULED,
            removal_effective_on__lte=renewal.schedule.period.start,
        ).values_list("licence_type_id", flat=True)
    )


def in_force_at(schedule: _Schedule):
    """The licences a renewal bills: in force at the period's first instant, that is bought
    before it and with no removal effective at or before the period's first day (docs/rules.md,
    "renewal counts what was held"). The renewal statement's `held` CTE says the same in SQL;
    tests/billing/test_renewal_held.py checks the two against each other."""
    start = schedule.period.start
    return Licence.objects.filter(purchased_at__lt=schedule.starts_at).exclude(
        Q(removal_effective_on__lte=start) | Q(terminated_on__lte=start)
    )


def _line_order(licence_type) -> tuple:
    """Base licences first, then add-ons, each in the catalogue's order (as `_RENEW` sorts)."""
    return (licence_type.kind != "base", licence_type.sort_order, licence_type.code)


def _termination_fees(renewal: _Renewal, ending: Counter) -> list[QuoteLine]:
    """Rule 16 fees for the licences `ending` (by type) at this period's start."""
    organisation, period = renewal.organisation, renewal.schedule.period
    lines = []
    commitments = Commitment.objects.filter(
        organisation_id=organisation.pk,
        licence_type_id__in=list(ending),
        ends_on__gt=period.start,
    ).select_related("licence_type")
    for commitment in sorted(commitments, key=lambda c: _line_order(c.licence_type)):
        remaining = (
            in_force_at(renewal.schedule)
            .filter(organisation_id=organisation.pk, licence_type_id=commitment.licence_type_id)
            .count()
        )
        removed = ending[commitment.licence_type_id]
        fee = termination_fee(
            monthly_price=LicencePrice.objects.values_list("monthly", flat=True).get(
                licence_type_id=commitment.licence_type_id, currency=organisation.currency
            ),
            committed=commitment.quantity,
            remaining=remaining,
            removed=removed,
            effective_on=period.start,
            ends_on=commitment.ends_on,
        )
        if fee:
            below = min(removed, max(0, commitment.quantity - remaining))
            lines.append(
                QuoteLine(
                    description=(
                        f"Termination fee: {below} × {commitment.licence_type.name} below "
                        f"the commitment of {commitment.quantity} until "
                        f"{commitment.ends_on:%d %b %Y}"
                    ),
                    kind=InvoiceLineKind.TERMINATION_FEE,
                    licence_type=commitment.licence_type,
                    quantity=below,
                    unit_price=to_cents(fee / below),
                    amount=fee,
                    period_start=period.start,
                )
            )
    return lines


def _issue_dates(schedule: _Schedule, at: datetime | None) -> tuple[datetime, date]:
    """When a renewal's invoice is issued: at the renewal's time, or, when the job runs later
    (an outage, a catch-up of missed periods), when it runs; its due date counts from then, so
    our own delay never makes an invoice overdue on issue (rule 18)."""
    issued_at = schedule.renewal_at if at is None else max(schedule.renewal_at, at)
    return issued_at, local_date(issued_at, schedule.tz_name)


def _parameters(renewals: list[_Renewal], ending: dict, *, at: datetime | None) -> dict:
    """The statement's inputs for a batch: one element per organisation, one per distinct
    schedule of dates, one per termination fee line."""
    fees = [
        (renewal.organisation.pk, line)
        for renewal in renewals
        if renewal.organisation.pk in ending
        for line in _termination_fees(renewal, ending[renewal.organisation.pk])
    ]
    due_days = timedelta(days=settings.INVOICE_DUE_DAYS)
    # Organisations that share a time zone, anchor day and renewal time share their dates: each
    # distinct set is sent once (`schedule`), and each organisation says which is its own.
    schedules: dict[_Schedule, int] = {}  # its position in the arrays, from 1
    schedule_of = [schedules.setdefault(r.schedule, len(schedules) + 1) for r in renewals]
    issued = [_issue_dates(schedule, at) for schedule in schedules]
    return {
        "organisation": [r.organisation.pk for r in renewals],
        "currency": [r.organisation.currency for r in renewals],
        "tax_rate": [r.organisation.tax_rate for r in renewals],
        "frequency": [r.organisation.billing_frequency for r in renewals],
        "sequence": [r.organisation.last_invoice_sequence + 1 for r in renewals],
        "number": [
            invoice_number(r.organisation.pk, r.organisation.last_invoice_sequence + 1)
            for r in renewals
        ],
        "schedule": schedule_of,
        "issued_at": [issued_at for issued_at, _ in issued],
        "issued_on": [issued_on for _, issued_on in issued],
        "due_on": [issued_on + due_days for _, issued_on in issued],
        "period_start": [schedule.period.start for schedule in schedules],
        "period_end": [schedule.period.last_day for schedule in schedules],
        "starts_at": [schedule.starts_at for schedule in schedules],
        "following_at": [schedule.following_at for schedule in schedules],
        "start_label": [f"{schedule.period.start:%d %b %Y}" for schedule in schedules],
        "span": [
            f"{schedule.period.start:%d %b %Y} to {schedule.period.last_day:%d %b %Y}"
            for schedule in schedules
        ],
        "fee_organisation": [pk for pk, _ in fees],
        "fee_description": [line.description for _, line in fees],
        "fee_licence_type": [line.licence_type.pk for _, line in fees],
        "fee_quantity": [line.quantity for _, line in fees],
        "fee_unit_price": [line.unit_price for _, line in fees],
        "fee_amount": [line.amount for _, line in fees],
        "now": timezone.now(),
    }


def _renew(renewals: list[_Renewal], *, at: datetime | None = None) -> set[uuid.UUID]:
    """Renew one period of each organisation, which the caller holds locked, as of `at` (the
    job's time; None: on time); return the ids of the invoices issued (an organisation with
    nothing to bill, or whose period was already billed, is only moved on)."""
    if not renewals:
        return set()
    ending = _terminate_due_removals(renewals)
    with bound_cursor() as cursor:
        cursor.execute(_RENEW, _parameters(renewals, ending, at=at))
        issued = {invoice_id for (invoice_id,) in cursor.fetchall()}
    # Charge the default methods once the batch commits (docs/rules.md, payments).
    collect_after_commit(sorted(issued))
    return issued


def renewals_apply_locked(organisations, *, at: datetime | None = None) -> int:
    """Renew one period of each organisation, which the caller holds locked (`Organisation`s
    or `DueOrganisation`s), as of `at`; return how many invoices were issued. Each is e-mailed
    to its billing contacts after commit (billing.mail)."""
    issued = _renew([_Renewal.of(o) for o in organisations], at=at)
    invoices_mail_after_commit(issued)
    return len(issued)


def upcoming_quote(organisation: Organisation, *, at: datetime | None = None) -> Quote:
    """`GET /billing/upcoming/`: exactly what the next renewal would invoice, as of now.

    The renewal's own statement in its read-only form (`_RENEW_READ_ONLY`: the same licences,
    prices, charges, usage, fees, order and rounding, selected instead of written), so the preview
    cannot drift from what the job bills. It takes no lock and writes nothing: a dashboard never
    waits behind a renewal.
    """
    due = DueOrganisation(
        *Organisation.objects.values_list(*DueOrganisation._fields).get(pk=organisation.pk)
    )
    renewal = _Renewal.of(due)
    ending = {due.pk: _removals_taking_effect(renewal)}
    with bound_cursor() as cursor:
        cursor.execute(_RENEW_READ_ONLY, _parameters([renewal], ending, at=None))
        rows = cursor.fetchall()
    licence_types = LicenceType.objects.in_bulk({row[3] for row in rows if row[3]})
    return Quote(
        **vat_preview(organisation),
        currency=due.currency,
        tax_rate=due.tax_rate,
        lines=[
            QuoteLine(
                description=description,
                kind=kind,
                quantity=quantity,
                unit_price=unit_price,
                amount=amount,
                licence_type=licence_types.get(licence_type_id),
                period_start=period_start,
                period_end=period_end,
            )
            for (
                _position,
                description,
                kind,
                licence_type_id,
                quantity,
                unit_price,
                period_start,
                period_end,
                amount,
            ) in rows
        ],
    )


def renewals_due(*, at: datetime):
    """Organisations whose next period has started as of `at`."""
    return Organisation.objects.filter(next_renewal_at__lte=at, closed_at__isnull=True)


def _next_due(at: datetime):
    # Oldest first, straight off the next_renewal_at index (no sort of every due row).
    return renewals_due(at=at).select_for_update(skip_locked=True).order_by("next_renewal_at")


def _lock_due(at: datetime, size: int, *, exclude=(), pk=None) -> list[DueOrganisation]:
    due = _next_due(at).exclude(pk__in=exclude)
    if pk is not None:
        due = due.filter(pk=pk)
    return [DueOrganisation(*row) for row in due.values_list(*DueOrganisation._fields)[:size]]


def renewals_run(*, at: datetime, limit: int | None = None, batch_size: int | None = None) -> int:
    """Renew every organisation due as of `at`; return how many periods were processed.

    Safe to run twice, in several workers at once, or again after a crash: each batch of
    organisations is picked under SKIP LOCKED, renewed and advanced in one transaction. The
    batch (RENEWAL_BATCH_SIZE, 250) is large enough that per-statement costs vanish and small
    enough that its row locks are held for a fraction of a second.
    """
    batch_size = batch_size or settings.RENEWAL_BATCH_SIZE
    done = 0
    refused: set = set()
    while limit is None or done < limit:
        size = batch_size if limit is None else min(batch_size, limit - done)
        batch: list[DueOrganisation] = []
        try:
            with transaction.atomic():
                batch = _lock_due(at, size, exclude=refused)
                renewals_apply_locked(batch, at=at)
        except IntegrityError:
            # The database refused part of the batch (say, a second renewal invoice for a
            # period, or a licence type with no price): renew its organisations one by one,
            # setting aside the refused one, which is logged, so that it can neither bill
            # twice nor stall the others.
            _renew_each(at, [organisation.pk for organisation in batch], refused)
        if not batch:
            return done
        done += len(batch)
    return done


def _renew_each(at: datetime, pks: list, refused: set) -> None:
    for pk in pks:
        try:
            with transaction.atomic():
                renewals_apply_locked(_lock_due(at, 1, pk=pk), at=at)
        except IntegrityError:
            log.exception("renewal of organisation %s refused by the database", pk)
            refused.add(pk)


def organisation_renew(*, organisation_id, at: datetime) -> int:
    """Renew one organisation's periods due as of `at` (skipped if being renewed elsewhere)."""
    done = 0
    while True:
        with transaction.atomic():
            due = _lock_due(at, 1, pk=organisation_id)
            if not due:
                return done
            renewals_apply_locked(due, at=at)
        done += 1
