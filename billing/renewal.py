"""Renewal at each period start (DESIGN.md section 4): in advance, one invoice per period.

`renewals_run` is what the Celery job and `manage.py run_billing` call. It picks due
organisations one at a time with `SELECT … FOR UPDATE SKIP LOCKED`, so several workers share
the work without waiting on each other, and each organisation's renewal is one transaction.
Idempotency: an organisation is due while `next_renewal_at` ≤ as-of; the renewal advances it in
the same transaction as the invoice, and the unique constraint (organisation, period_start) on
renewal invoices refuses a second one even if something else went wrong.
"""

import logging
from collections import Counter
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum

from accounts.audit import audit_record_many
from accounts.models import Organisation
from billing.commitments import termination_fee
from billing.models import (
    Charge,
    ChargeKind,
    Commitment,
    Invoice,
    InvoiceKind,
    InvoiceLineKind,
    UsageRecord,
)
from billing.periods import Period, local_date, local_midnight, next_period, period_containing
from billing.quotes import Quote, QuoteLine
from billing.services import invoice_issue
from licensing.models import Licence, LicencePrice, LicenceStatus, LicenceType

log = logging.getLogger(__name__)


def renewal_period(organisation: Organisation) -> Period:
    """The period whose start the organisation's next renewal bills."""
    start = local_date(organisation.next_renewal_at, organisation.timezone)
    return period_containing(anchor=organisation.billing_anchor,
                             frequency=organisation.billing_frequency, on=start)


def first_renewal_at(organisation: Organisation) -> datetime:
    """The first renewal is at the end of the sign-up period (its start is paid pro rata)."""
    first = period_containing(anchor=organisation.billing_anchor,
                              frequency=organisation.billing_frequency,
                              on=organisation.billing_anchor)
    return local_midnight(first.end, organisation.timezone)


def _prices(organisation) -> dict[int, tuple[Decimal, Decimal]]:
    """(unit price for the frequency, monthly price) by licence type id."""
    yearly = organisation.billing_frequency == "yearly"
    return {
        type_id: (yearly_price if yearly else monthly, monthly)
        for type_id, monthly, yearly_price in LicencePrice.objects.filter(
            currency=organisation.currency).values_list("licence_type_id", "monthly", "yearly")
    }


def _termination_fees(organisation, period: Period, prices, ending: Counter) -> list[QuoteLine]:
    """Rule 16 fees for licences whose removal takes effect at this period's start."""
    if not ending:
        return []
    lines = []
    commitments = Commitment.objects.filter(
        organisation=organisation, licence_type_id__in=list(ending), ends_on__gt=period.start
    ).select_related("licence_type")
    for commitment in commitments:
        remaining = Licence.objects.filter(
            organisation=organisation, licence_type_id=commitment.licence_type_id,
            status=LicenceStatus.ACTIVE,
        ).count()
        monthly = prices[commitment.licence_type_id][1]
        removed = ending[commitment.licence_type_id]
        fee = termination_fee(monthly_price=monthly, committed=commitment.quantity,
                              remaining=remaining, removed=removed,
                              effective_on=period.start, ends_on=commitment.ends_on)
        if fee:
            below = min(removed, max(0, commitment.quantity - remaining))
            lines.append(QuoteLine(
                description=(f"Termination fee: {below} × {commitment.licence_type.name} below "
                             f"the commitment of {commitment.quantity} until "
                             f"{commitment.ends_on:%d %b %Y}"),
                kind=InvoiceLineKind.TERMINATION_FEE, licence_type=commitment.licence_type,
                quantity=below, unit_price=(fee / below).quantize(Decimal("0.01")), amount=fee,
                period_start=period.start,
            ))
    return lines


def renewal_quote(organisation: Organisation, period: Period, *, ending: Counter | None = None,
                  ) -> Quote:
    """The renewal invoice for `period`: licences in advance, then the pending charges.

    `ending` counts, per licence type id, licences whose removal takes effect at this period's
    start: they are not renewed (they are terminated first) and may owe a termination fee.
    """
    prices = _prices(organisation)
    types = {t.pk: t for t in LicenceType.objects.all()}
    counts = dict(
        Licence.objects.filter(organisation=organisation)
        .filter(Q(status=LicenceStatus.ACTIVE)
                | Q(status=LicenceStatus.REMOVAL_SCHEDULED,
                    removal_effective_on__gt=period.start))
        .order_by().values_list("licence_type_id").annotate(n=Count("pk"))
    )
    lines = []
    for type_id in sorted(counts, key=lambda t: (types[t].kind, types[t].sort_order)):
        unit = prices[type_id][0]
        quantity = counts[type_id]
        lines.append(QuoteLine(
            description=(f"{types[type_id].name} × {quantity}, {period.start:%d %b %Y} to "
                         f"{period.last_day:%d %b %Y}"),
            kind=InvoiceLineKind.LICENCE, licence_type=types[type_id], quantity=quantity,
            unit_price=unit, amount=unit * quantity, period_start=period.start,
            period_end=period.last_day,
        ))
    lines += _termination_fees(organisation, period, prices, ending or Counter())
    for charge in Charge.objects.filter(organisation=organisation, invoice__isnull=True,
                                        created_at__lt=local_midnight(period.start,
                                                                      organisation.timezone)):
        lines.append(QuoteLine(
            description=charge.description, kind=charge.kind, quantity=charge.quantity,
            unit_price=charge.unit_price, amount=charge.amount, licence_type=charge.licence_type,
        ))
    usage = UsageRecord.objects.filter(
        organisation=organisation, invoice__isnull=True, period_start__lt=period.start
    ).aggregate(total=Sum("cost"), n=Count("pk"))
    if usage["n"]:
        lines.append(QuoteLine(
            description=f"Calling credits used before {period.start:%d %b %Y} ({usage['n']} records)",
            kind=InvoiceLineKind.USAGE, quantity=1, unit_price=usage["total"],
            amount=usage["total"],
        ))
    return Quote(currency=organisation.currency, tax_rate=organisation.tax_rate, lines=lines)


def upcoming_quote(organisation: Organisation, *, at: datetime | None = None) -> Quote:
    """`GET /billing/upcoming/`: exactly what the next renewal would invoice, as of now."""
    if organisation.next_renewal_at is None:
        organisation.next_renewal_at = first_renewal_at(organisation)
    period = renewal_period(organisation)
    ending = Counter(dict(
        Licence.objects.filter(organisation=organisation, status=LicenceStatus.REMOVAL_SCHEDULED,
                               removal_effective_on__lte=period.start)
        .order_by().values_list("licence_type_id").annotate(n=Count("pk"))
    ))
    # What the job will see after terminating: evaluate fees as if the removals had happened.
    with transaction.atomic():
        sid = transaction.savepoint()
        Licence.objects.filter(
            organisation=organisation, status=LicenceStatus.REMOVAL_SCHEDULED,
            removal_effective_on__lte=period.start,
        ).update(status=LicenceStatus.TERMINATED)
        quote = renewal_quote(organisation, period, ending=ending)
        transaction.savepoint_rollback(sid)
    return quote


def _advance(organisation: Organisation, period: Period) -> None:
    following = next_period(anchor=organisation.billing_anchor,
                            frequency=organisation.billing_frequency, period=period)
    organisation.next_renewal_at = local_midnight(following.start, organisation.timezone)
    organisation.save(update_fields=["next_renewal_at"])


def _renew_locked(organisation: Organisation) -> Invoice | None:
    period = renewal_period(organisation)
    at = organisation.next_renewal_at
    if Invoice.objects.filter(organisation=organisation, kind=InvoiceKind.RENEWAL,
                              period_start=period.start).exists():
        _advance(organisation, period)
        return None
    due = list(
        Licence.objects.select_for_update(of=("self",)).filter(
            organisation=organisation, status=LicenceStatus.REMOVAL_SCHEDULED,
            removal_effective_on__lte=period.start,
        ).order_by("pk")
    )
    ending = Counter(licence.licence_type_id for licence in due)
    Licence.objects.filter(pk__in=[licence.pk for licence in due]).update(
        status=LicenceStatus.TERMINATED, terminated_on=period.start)
    audit_record_many(organisation=organisation, actor=None, action="licence.terminated_at_end",
                      targets=due, changes={"effective_on": period.start.isoformat()})
    quote = renewal_quote(organisation, period, ending=ending)
    invoice = None
    if quote.lines:
        invoice = invoice_issue(organisation=organisation, kind=InvoiceKind.RENEWAL, quote=quote,
                                actor=None, period=period, at=at)
        Charge.objects.filter(organisation=organisation, invoice__isnull=True,
                              created_at__lt=at).update(invoice=invoice)
        UsageRecord.objects.filter(organisation=organisation, invoice__isnull=True,
                                   period_start__lt=period.start).update(invoice=invoice)
    _advance(organisation, period)
    return invoice


def _next_due(at: datetime):
    return (
        Organisation.objects.select_for_update(skip_locked=True)
        .filter(next_renewal_at__lte=at, closed_at__isnull=True)
        .order_by("next_renewal_at", "pk")
    )


def renewals_run(*, at: datetime, limit: int | None = None) -> int:
    """Renew every organisation due as of `at`; return how many periods were processed.

    Safe to run twice, in several workers at once, or again after a crash: each organisation's
    period is one transaction, picked under SKIP LOCKED and advanced in that transaction.
    """
    done = 0
    while limit is None or done < limit:
        try:
            with transaction.atomic():
                organisation = _next_due(at).first()
                if organisation is None:
                    return done
                _renew_locked(organisation)
        except IntegrityError:
            # The unique constraint refused a second renewal invoice for a period: something
            # raced past the checks above. Never bill twice; the next pass advances it.
            log.exception("renewal refused by the database for %s", organisation.pk)
        done += 1
    return done


def organisation_renew(*, organisation_id, at: datetime) -> Invoice | None:
    """Renew one organisation if it is due (and not being renewed elsewhere)."""
    with transaction.atomic():
        organisation = _next_due(at).filter(pk=organisation_id).first()
        if organisation is None:
            return None
        return _renew_locked(organisation)
