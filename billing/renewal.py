"""Renewal at each period start (DESIGN.md section 4): in advance, one invoice per period.

`renewals_run` is what the Celery job and `manage.py run_billing` call. It takes due
organisations a batch at a time with `SELECT … FOR UPDATE SKIP LOCKED`, so several workers share
the work without waiting on each other, and each batch is one transaction: a worker that dies
loses at most its current batch, which the next run (or the redelivered task) does again.
Idempotency: an organisation is due while `next_renewal_at` ≤ as-of; the renewal advances it in
the same transaction as the invoice, and the unique constraint (organisation, period_start) on
renewal invoices refuses a second one even if something else went wrong.

Throughput: a batch costs the same dozen queries whatever its size — licences, charges and usage
are read, and invoices, lines and audit rows written, for the whole batch at once — so 10,000
organisations renew in a few hundred statements (bench/renewal.py).
"""

import logging
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Sum

from accounts.audit import audit_record_many
from accounts.models import Organisation
from billing.commitments import termination_fee
from billing.models import (
    Charge,
    Commitment,
    Invoice,
    InvoiceKind,
    InvoiceLineKind,
    UsageRecord,
)
from billing.periods import Period, local_date, local_midnight, next_period, period_containing
from billing.quotes import Quote, QuoteLine
from billing.services import InvoiceDraft, invoices_issue_locked
from licensing.models import Licence, LicencePrice, LicenceStatus, LicenceType

log = logging.getLogger(__name__)


def renewal_period(organisation: Organisation) -> Period:
    """The period whose start the organisation's next renewal bills."""
    start = local_date(organisation.next_renewal_at, organisation.timezone)
    return period_containing(
        anchor=organisation.billing_anchor, frequency=organisation.billing_frequency, on=start
    )


def first_renewal_at(organisation: Organisation) -> datetime:
    """The first renewal is at the end of the sign-up period (its start is paid pro rata)."""
    first = period_containing(
        anchor=organisation.billing_anchor,
        frequency=organisation.billing_frequency,
        on=organisation.billing_anchor,
    )
    return local_midnight(first.end, organisation.timezone)


class _Catalogue:
    """Licence types and prices, read once per batch (a few dozen rows)."""

    def __init__(self) -> None:
        self.types = {t.pk: t for t in LicenceType.objects.all()}
        self.prices = {
            (currency, type_id): (monthly, yearly)
            for type_id, currency, monthly, yearly in LicencePrice.objects.values_list(
                "licence_type_id", "currency", "monthly", "yearly"
            )
        }

    def monthly(self, organisation: Organisation, type_id: int) -> Decimal:
        return self.prices[organisation.currency, type_id][0]

    def unit_price(self, organisation: Organisation, type_id: int) -> Decimal:
        """The price of one licence for one of the organisation's periods."""
        monthly, yearly = self.prices[organisation.currency, type_id]
        return yearly if organisation.billing_frequency == "yearly" else monthly


@dataclass
class _Renewal:
    """One organisation's renewal in a batch: its period and what the invoice will carry."""

    organisation: Organisation
    period: Period
    ending: Counter = field(default_factory=Counter)  # removals taking effect, by type id
    usage: tuple[Decimal, int] | None = None  # (total, records) already claimed for the invoice
    invoice_id: uuid.UUID = field(default_factory=uuid.uuid4)
    charges: list[Charge] = field(default_factory=list)
    quote: Quote | None = None


def _termination_fees(renewal: _Renewal, catalogue: _Catalogue) -> list[QuoteLine]:
    """Rule 16 fees for licences whose removal takes effect at this period's start."""
    if not renewal.ending:
        return []
    organisation, period = renewal.organisation, renewal.period
    lines = []
    commitments = Commitment.objects.filter(
        organisation=organisation,
        licence_type_id__in=list(renewal.ending),
        ends_on__gt=period.start,
    ).select_related("licence_type")
    for commitment in commitments:
        remaining = Licence.objects.filter(
            organisation=organisation,
            licence_type_id=commitment.licence_type_id,
            status=LicenceStatus.ACTIVE,
        ).count()
        removed = renewal.ending[commitment.licence_type_id]
        fee = termination_fee(
            monthly_price=catalogue.monthly(organisation, commitment.licence_type_id),
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
                    unit_price=(fee / below).quantize(Decimal("0.01")),
                    amount=fee,
                    period_start=period.start,
                )
            )
    return lines


def _quote_all(renewals: list[_Renewal]) -> None:
    """Set each renewal's quote: licences in advance, then the pending charges.

    Licences whose removal takes effect at the period's start (`ending`) are not renewed (they
    are terminated first) and may owe a termination fee. Usage is what `_claim_usage` claimed,
    or, for a preview, what is unbilled.
    """
    catalogue = _Catalogue()
    by_pk = {r.organisation.pk: r for r in renewals}
    counts: dict[object, Counter] = defaultdict(Counter)
    for org_id, type_id, status, effective_on, n in (
        Licence.objects.filter(
            organisation__in=by_pk,
            status__in=[LicenceStatus.ACTIVE, LicenceStatus.REMOVAL_SCHEDULED],
        )
        .order_by()
        .values_list("organisation_id", "licence_type_id", "status", "removal_effective_on")
        .annotate(n=Count("pk"))
    ):
        if status == LicenceStatus.ACTIVE or effective_on > by_pk[org_id].period.start:
            counts[org_id][type_id] += n
    for charge in Charge.objects.filter(organisation__in=by_pk, invoice__isnull=True):
        renewal = by_pk[charge.organisation_id]
        if charge.created_at < local_midnight(renewal.period.start, renewal.organisation.timezone):
            renewal.charges.append(charge)
    unclaimed = [r for r in renewals if r.usage is None]
    for renewal in unclaimed:
        renewal.usage = (Decimal("0.00"), 0)
    if unclaimed:
        for org_id, started, total, n in (
            UsageRecord.objects.filter(
                organisation__in=[r.organisation for r in unclaimed], invoice__isnull=True
            )
            .order_by()
            .values_list("organisation_id", "period_start")
            .annotate(total=Sum("cost"), n=Count("pk"))
        ):
            renewal = by_pk[org_id]
            if started < renewal.period.start:
                renewal.usage = (renewal.usage[0] + total, renewal.usage[1] + n)

    for renewal in renewals:
        organisation, period = renewal.organisation, renewal.period
        lines = []
        types = catalogue.types
        held = counts[organisation.pk]
        span = f"{period.start:%d %b %Y} to {period.last_day:%d %b %Y}"
        for type_id in sorted(held, key=lambda t: (types[t].kind, types[t].sort_order)):
            unit, quantity = catalogue.unit_price(organisation, type_id), held[type_id]
            lines.append(
                QuoteLine(
                    description=f"{types[type_id].name} × {quantity}, {span}",
                    kind=InvoiceLineKind.LICENCE,
                    licence_type=types[type_id],
                    quantity=quantity,
                    unit_price=unit,
                    amount=unit * quantity,
                    period_start=period.start,
                    period_end=period.last_day,
                )
            )
        lines += _termination_fees(renewal, catalogue)
        for charge in renewal.charges:
            lines.append(
                QuoteLine(
                    description=charge.description,
                    kind=charge.kind,
                    quantity=charge.quantity,
                    unit_price=charge.unit_price,
                    amount=charge.amount,
                    licence_type=catalogue.types.get(charge.licence_type_id),
                )
            )
        total, records = renewal.usage
        if records:
            lines.append(
                QuoteLine(
                    description=(
                        f"Calling credits used before {period.start:%d %b %Y} ({records} records)"
                    ),
                    kind=InvoiceLineKind.USAGE,
                    quantity=1,
                    unit_price=total,
                    amount=total,
                )
            )
        renewal.quote = Quote(
            currency=organisation.currency, tax_rate=organisation.tax_rate, lines=lines
        )


def renewal_quote(
    organisation: Organisation,
    period: Period,
    *,
    ending: Counter | None = None,
) -> Quote:
    """The renewal invoice for `period`: licences in advance, then the pending charges.

    `ending` counts, per licence type id, licences whose removal takes effect at this period's
    start: they are not renewed (they are terminated first) and may owe a termination fee.
    """
    renewal = _Renewal(organisation=organisation, period=period, ending=ending or Counter())
    _quote_all([renewal])
    return renewal.quote


def upcoming_quote(organisation: Organisation, *, at: datetime | None = None) -> Quote:
    """`GET /billing/upcoming/`: exactly what the next renewal would invoice, as of now."""
    if organisation.next_renewal_at is None:
        organisation.next_renewal_at = first_renewal_at(organisation)
    period = renewal_period(organisation)
    ending = Counter(
        dict(
            Licence.objects.filter(
                organisation=organisation,
                status=LicenceStatus.REMOVAL_SCHEDULED,
                removal_effective_on__lte=period.start,
            )
            .order_by()
            .values_list("licence_type_id")
            .annotate(n=Count("pk"))
        )
    )
    # What the job will see after terminating: evaluate fees as if the removals had happened.
    with transaction.atomic():
        sid = transaction.savepoint()
        Licence.objects.filter(
            organisation=organisation,
            status=LicenceStatus.REMOVAL_SCHEDULED,
            removal_effective_on__lte=period.start,
        ).update(status=LicenceStatus.TERMINATED)
        quote = renewal_quote(organisation, period, ending=ending)
        transaction.savepoint_rollback(sid)
    return quote


def _terminate_due_removals(renewals: list[_Renewal]) -> None:
    """Removals take effect at period end (rule 14): terminate them before renewing."""
    by_pk = {r.organisation.pk: r for r in renewals}
    due: dict[object, list[Licence]] = defaultdict(list)
    for licence in (
        Licence.objects.select_for_update(of=("self",))
        .select_related("licence_type")
        .filter(
            organisation__in=by_pk,
            status=LicenceStatus.REMOVAL_SCHEDULED,
            removal_effective_on__lte=max(r.period.start for r in renewals),
        )
        .order_by("pk")
    ):
        if licence.removal_effective_on <= by_pk[licence.organisation_id].period.start:
            due[licence.organisation_id].append(licence)
    by_start: dict[date, list] = defaultdict(list)
    for org_id, licences in due.items():
        renewal = by_pk[org_id]
        renewal.ending = Counter(licence.licence_type_id for licence in licences)
        by_start[renewal.period.start] += [licence.pk for licence in licences]
        audit_record_many(
            organisation=renewal.organisation,
            actor=None,
            action="licence.terminated_at_end",
            targets=licences,
            changes={"effective_on": renewal.period.start.isoformat()},
        )
    for start, pks in by_start.items():
        Licence.objects.filter(pk__in=pks).update(
            status=LicenceStatus.TERMINATED, terminated_on=start
        )


def _claim_usage(renewals: list[_Renewal]) -> None:
    """Mark the previous periods' unbilled usage as billed by each renewal's invoice, and sum it.

    Claiming and summing in one statement means a usage record reported while this runs (usage
    is recorded without the organisation's lock) is either on this invoice, counted, or left for
    the next one, never marked billed without being billed. The invoice ids are chosen here; the
    invoices are inserted later in this transaction (foreign keys are checked at commit). Plain
    SQL because the ORM can only express the join as one CASE branch per organisation.
    """
    usage = UsageRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH claimed AS (
                UPDATE {usage} AS u SET invoice_id = r.invoice_id
                FROM unnest(%s::uuid[], %s::uuid[], %s::date[])
                     AS r(organisation_id, invoice_id, period_start)
                WHERE u.organisation_id = r.organisation_id AND u.invoice_id IS NULL
                  AND u.period_start < r.period_start
                RETURNING u.invoice_id, u.cost)
            SELECT invoice_id, sum(cost), count(*) FROM claimed GROUP BY invoice_id
            """,
            [
                [r.organisation.pk for r in renewals],
                [r.invoice_id for r in renewals],
                [r.period.start for r in renewals],
            ],
        )
        claimed = {invoice_id: (total, n) for invoice_id, total, n in cursor.fetchall()}
    for renewal in renewals:
        renewal.usage = claimed.get(renewal.invoice_id, (Decimal("0.00"), 0))


def _advance(renewals: list[_Renewal], invoiced: set) -> None:
    """Move each organisation's next renewal to the following period's local midnight, and save
    the invoice sequence of those `invoiced` in the same write."""
    following: dict[tuple[datetime, bool], list] = defaultdict(list)
    for renewal in renewals:
        organisation = renewal.organisation
        period = next_period(
            anchor=organisation.billing_anchor,
            frequency=organisation.billing_frequency,
            period=renewal.period,
        )
        organisation.next_renewal_at = local_midnight(period.start, organisation.timezone)
        following[organisation.next_renewal_at, organisation.pk in invoiced].append(organisation.pk)
    # A batch shares a handful of instants (one per time zone and anchor day): one UPDATE each.
    for (at, with_invoice), pks in following.items():
        changes = {"next_renewal_at": at}
        if with_invoice:
            changes["last_invoice_sequence"] = F("last_invoice_sequence") + 1
        Organisation.objects.filter(pk__in=pks).update(**changes)


def renewals_apply_locked(organisations: list[Organisation]) -> list[Invoice]:
    """Renew one period of each organisation, which the caller holds locked, in few queries."""
    renewals = [_Renewal(organisation=o, period=renewal_period(o)) for o in organisations]
    billed = set(
        Invoice.objects.filter(
            kind=InvoiceKind.RENEWAL,
            organisation__in=organisations,
            period_start__in={r.period.start for r in renewals},
        ).values_list("organisation_id", "period_start")
    )
    # Already billed (by an earlier run that could not advance): only advance.
    due = [r for r in renewals if (r.organisation.pk, r.period.start) not in billed]
    invoices = []
    if due:
        _terminate_due_removals(due)
        _claim_usage(due)
        _quote_all(due)
        due = [r for r in due if r.quote.lines]
        invoices = invoices_issue_locked(
            kind=InvoiceKind.RENEWAL,
            actor=None,
            save_sequences=False,  # saved by _advance, with the next renewal time
            drafts=[
                InvoiceDraft(
                    organisation=r.organisation,
                    quote=r.quote,
                    period=r.period,
                    at=r.organisation.next_renewal_at,
                    id=r.invoice_id,
                )
                for r in due
            ],
        )
        for renewal in due:
            if renewal.charges:
                Charge.objects.filter(pk__in=[c.pk for c in renewal.charges]).update(
                    invoice_id=renewal.invoice_id
                )
    _advance(renewals, invoiced={invoice.organisation_id for invoice in invoices})
    return invoices


def renewals_due(*, at: datetime):
    """Organisations whose next period has started as of `at`."""
    return Organisation.objects.filter(next_renewal_at__lte=at, closed_at__isnull=True)


def _next_due(at: datetime):
    # Oldest first, straight off the next_renewal_at index (no sort of every due row).
    return renewals_due(at=at).select_for_update(skip_locked=True).order_by("next_renewal_at")


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
        batch: list[Organisation] = []
        try:
            with transaction.atomic():
                batch = list(_next_due(at).exclude(pk__in=refused)[:size])
                if batch:
                    renewals_apply_locked(batch)
        except IntegrityError:
            # The database refused part of the batch (say, a second renewal invoice for a
            # period): renew its organisations one by one, setting aside the refused one, which
            # is logged, so that it can neither bill twice nor stall the others.
            _renew_each(at, [organisation.pk for organisation in batch], refused)
        if not batch:
            return done
        done += len(batch)
    return done


def _renew_each(at: datetime, pks: list, refused: set) -> None:
    for pk in pks:
        try:
            with transaction.atomic():
                organisation = _next_due(at).filter(pk=pk).first()
                if organisation is not None:
                    renewals_apply_locked([organisation])
        except IntegrityError:
            log.exception("renewal of organisation %s refused by the database", pk)
            refused.add(pk)


def organisation_renew(*, organisation_id, at: datetime) -> int:
    """Renew one organisation's periods due as of `at` (skipped if being renewed elsewhere)."""
    done = 0
    while True:
        with transaction.atomic():
            organisation = _next_due(at).filter(pk=organisation_id).first()
            if organisation is None:
                return done
            renewals_apply_locked([organisation])
        done += 1
