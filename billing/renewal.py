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
from billing.models import Commitment, InvoiceLineKind
from billing.periods import Period, local_date, local_midnight, next_period, period_containing
from billing.quotes import Quote, QuoteLine
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


# The renewal of a batch, set-based. Its inputs are arrays, one element per organisation (the
# `renewal` relation, materialised once with each organisation's invoice id), one per distinct
# schedule of dates (picked by subscript: a join would hide the batch's size from the planner,
# whose plans then go wrong), and one per termination fee line (`fee`). The statement:
# - skips a period already billed (an earlier run that could not advance: it is only advanced);
# - counts, per type, the licences in force at the period's first instant (`in_force_at`, whose
#   words the `held` CTE repeats in SQL: bought before that instant, no removal effective at or
#   before the period's first day), whatever their status now and whenever the job runs, so a
#   licence bought on the first day (paid in full by its purchase) or during a missed period is
#   not billed for it, and a missed period is billed as it would have been on time; it prices them
#   for the organisation's currency and frequency,
#   base licences first, then add-ons, each in the catalogue's order; a type with no price leaves
#   the unit price NULL, which the NOT NULL column refuses: that organisation is set aside
#   (`renewals_run`) rather than billed too little;
# - claims the pending charges made before the period's first instant, and the usage of earlier
#   periods, in the same statement that bills them, so a charge or usage recorded meanwhile is
#   either on this invoice or left for the next one, never marked billed without being billed;
# - numbers the lines (licences, termination fees, charges, usage), sums them, and rounds the
#   tax on the subtotal half up to the cent (PostgreSQL's round() on numeric rounds half away
#   from zero, as `telecom.money.tax_amount` does; tests/billing/test_renewal_sql.py pins both);
# - inserts the invoice, its lines and its audit row; an organisation with nothing to bill gets
#   no invoice and keeps its sequence;
# - moves every organisation on to its next renewal, saving the sequence of those invoiced.
_PRICED = """
WITH renewal AS MATERIALIZED (
    SELECT r.*, gen_random_uuid() AS invoice_id,
           (%(issued_at)b::timestamptz[])[r.schedule] AS issued_at,
           (%(issued_on)b::date[])[r.schedule] AS issued_on,
           (%(due_on)b::date[])[r.schedule] AS due_on,
           (%(period_start)b::date[])[r.schedule] AS period_start,
           (%(period_end)b::date[])[r.schedule] AS period_end,
           (%(starts_at)b::timestamptz[])[r.schedule] AS starts_at,
           (%(following_at)b::timestamptz[])[r.schedule] AS following_at,
           (%(start_label)b::text[])[r.schedule] AS start_label,
           (%(span)b::text[])[r.schedule] AS span
      FROM unnest(
               %(organisation)b::uuid[], %(currency)b::text[], %(tax_rate)b::numeric[],
               %(frequency)b::text[], %(sequence)b::integer[], %(number)b::text[],
               %(schedule)b::integer[]
           ) AS r(organisation_id, currency, tax_rate, billing_frequency, sequence, number,
                  schedule)
),
billable AS (
    SELECT * FROM renewal AS r
     WHERE NOT EXISTS (
               SELECT 1 FROM billing_invoice AS i
                WHERE i.organisation_id = r.organisation_id AND i.kind = 'renewal'
                  AND i.period_start = r.period_start)
),
held AS (
    SELECT r.invoice_id, l.licence_type_id, count(*)::integer AS quantity
      FROM billable AS r
      JOIN licensing_licence AS l ON l.organisation_id = r.organisation_id
     WHERE l.purchased_at < r.starts_at
       AND (l.removal_effective_on IS NULL OR l.removal_effective_on > r.period_start)
       AND (l.terminated_on IS NULL OR l.terminated_on > r.period_start)
     GROUP BY r.invoice_id, l.licence_type_id
),
priced AS (
    SELECT h.*, CASE r.billing_frequency WHEN 'yearly' THEN p.yearly
                                         ELSE p.monthly END AS unit_price
      FROM held AS h
      JOIN billable AS r USING (invoice_id)
      LEFT JOIN licensing_licenceprice AS p
             ON p.licence_type_id = h.licence_type_id AND p.currency = r.currency
),
"""

# Claiming the charges and usage the invoice bills: marked with the invoice in the same statement.
_CLAIMS = """
charged AS (
    UPDATE billing_charge AS c SET invoice_id = r.invoice_id
      FROM billable AS r
     WHERE c.organisation_id = r.organisation_id AND c.invoice_id IS NULL
       AND c.created_at < r.starts_at
    RETURNING c.invoice_id, c.description, c.kind, c.licence_type_id, c.quantity, c.unit_price,
              c.amount, c.created_at, c.id
),
used AS (
    UPDATE billing_usagerecord AS u SET invoice_id = r.invoice_id
      FROM billable AS r
     WHERE u.organisation_id = r.organisation_id AND u.invoice_id IS NULL
       AND u.period_start < r.period_start
    RETURNING u.invoice_id, u.cost
),
"""

# The same selection, read only (the upcoming invoice).
_CLAIMS_READ = """
charged AS (
    SELECT r.invoice_id, c.description, c.kind, c.licence_type_id, c.quantity, c.unit_price,
           c.amount, c.created_at, c.id
      FROM billing_charge AS c
      JOIN billable AS r ON c.organisation_id = r.organisation_id
     WHERE c.invoice_id IS NULL AND c.created_at < r.starts_at
),
used AS (
    SELECT r.invoice_id, u.cost
      FROM billing_usagerecord AS u
      JOIN billable AS r ON u.organisation_id = r.organisation_id
     WHERE u.invoice_id IS NULL AND u.period_start < r.period_start
),
"""

_LINES = """
line AS (
    SELECT h.invoice_id, CASE t.kind WHEN 'base' THEN 1 ELSE 2 END AS part,
           t.sort_order::bigint AS sort_number, t.code AS sort_tie,
           t.name || ' × ' || h.quantity || ', ' || r.span AS description,
           'licence' AS kind, h.licence_type_id, h.quantity, h.unit_price,
           h.unit_price * h.quantity AS amount, r.period_start, r.period_end
      FROM priced AS h
      JOIN billable AS r USING (invoice_id)
      JOIN licensing_licencetype AS t ON t.id = h.licence_type_id
    UNION ALL
    SELECT r.invoice_id, 3, f.position, '', f.description, 'termination_fee',
           f.licence_type_id, f.quantity, f.unit_price, f.amount, r.period_start, NULL
      FROM unnest(
               %(fee_organisation)b::uuid[], %(fee_description)b::text[],
               %(fee_licence_type)b::bigint[], %(fee_quantity)b::integer[],
               %(fee_unit_price)b::numeric[], %(fee_amount)b::numeric[]
           ) WITH ORDINALITY
           AS f(organisation_id, description, licence_type_id, quantity, unit_price, amount,
                position)
      JOIN billable AS r USING (organisation_id)
    UNION ALL
    SELECT c.invoice_id, 4, (extract(epoch FROM c.created_at) * 1000000)::bigint,
           c.id::text, c.description, c.kind, c.licence_type_id, c.quantity, c.unit_price,
           c.amount, NULL, NULL
      FROM charged AS c
    UNION ALL
    SELECT r.invoice_id, 5, 0, '',
           'Calling credits used before ' || r.start_label
               || ' (' || count(*) || ' records)',
           'usage', NULL, 1, sum(u.cost), sum(u.cost), NULL, NULL
      FROM used AS u
      JOIN billable AS r USING (invoice_id)
     GROUP BY r.invoice_id, r.start_label
),
total AS (
    SELECT r.invoice_id, s.subtotal, round(s.subtotal * r.tax_rate, 2) AS tax
      FROM (SELECT invoice_id, sum(amount) AS subtotal FROM line GROUP BY invoice_id) AS s
      JOIN billable AS r USING (invoice_id)
),
"""

_WRITE = """
invoice AS (
    INSERT INTO billing_invoice (
        id, organisation_id, sequence, number, kind, status, issued_at, issued_on, due_on,
        period_start, period_end, currency, tax_rate, subtotal, tax, total, billing_details_id)
    SELECT r.invoice_id, r.organisation_id, r.sequence, r.number, 'renewal', 'issued',
           r.issued_at, r.issued_on, r.due_on, r.period_start, r.period_end, r.currency,
           r.tax_rate, t.subtotal, t.tax, t.subtotal + t.tax,
           (SELECT d.id FROM billing_billingdetails AS d
             WHERE d.organisation_id = r.organisation_id
             ORDER BY d.version DESC LIMIT 1)
      FROM billable AS r
      JOIN total AS t USING (invoice_id)
    RETURNING id, organisation_id, number, total, currency
),
invoice_line AS (
    INSERT INTO billing_invoiceline (
        invoice_id, position, description, kind, licence_type_id, quantity, unit_price,
        period_start, period_end, amount)
    SELECT invoice_id,
           row_number() OVER (PARTITION BY invoice_id
                              ORDER BY part, sort_number, sort_tie),
           description, kind, licence_type_id, quantity, unit_price, period_start, period_end,
           amount
      FROM line
),
audit AS (
    INSERT INTO accounts_auditevent (
        organisation_id, actor_label, action, target_type, target_id, target_label, created_at,
        changes)
    SELECT organisation_id, 'system', 'invoice.issued', 'invoice', id::text, number,
           %(now)b,
           jsonb_build_object('kind', 'renewal', 'total', total::text, 'currency', currency)
      FROM invoice
),
advanced AS (
    UPDATE accounts_organisation AS o
       SET next_renewal_at = r.following_at,
           last_invoice_sequence = CASE WHEN t.invoice_id IS NULL THEN o.last_invoice_sequence
                                        ELSE r.sequence END
      FROM renewal AS r
      LEFT JOIN total AS t USING (invoice_id)
     WHERE o.id = r.organisation_id AND o.id = ANY (%(organisation)b::uuid[])
)
SELECT invoice_id FROM total
"""

# What the preview reads instead of writing: the lines in the order the invoice numbers them.
_READ = """
SELECT row_number() OVER (PARTITION BY invoice_id ORDER BY part, sort_number, sort_tie),
       description, kind, licence_type_id, quantity, unit_price, period_start, period_end,
       amount
  FROM line
 ORDER BY 1
"""

_RENEW = _PRICED + _CLAIMS + _LINES + _WRITE
_RENEW_READ_ONLY = _PRICED + _CLAIMS_READ + _LINES.rstrip().rstrip(",") + "\n" + _READ


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
        return {invoice_id for (invoice_id,) in cursor.fetchall()}


def renewals_apply_locked(organisations, *, at: datetime | None = None) -> int:
    """Renew one period of each organisation, which the caller holds locked (`Organisation`s
    or `DueOrganisation`s), as of `at`; return how many invoices were issued."""
    return len(_renew([_Renewal.of(o) for o in organisations], at=at))


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
