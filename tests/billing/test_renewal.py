"""The billing cycle to the cent: renewals, removals, commitments, usage, devices, tax."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from billing import services as billing_services
from billing import usage
from billing.models import Charge, Commitment, Invoice, InvoiceKind, UsageRecord
from billing.renewal import renewals_run, upcoming_quote
from billing.restriction import organisation_is_restricted
from licensing import services as licensing_services
from licensing.models import Device, Licence, LicenceStatus
from telecom import errors
from tests.factories import (
    LicenceFactory,
    UserFactory,
    give_number,
    licence_type,
    renewing_organisation,
)

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def licences(org, n, code="user_standard"):
    return [LicenceFactory(organisation=org, licence_type=licence_type(code)) for _ in range(n)]


def renewal_invoices(org):
    return list(
        Invoice.objects.filter(organisation=org, kind=InvoiceKind.RENEWAL).order_by("period_start")
    )


def test_month_with_a_removal_and_a_restore():
    org = renewing_organisation(dt.date(2026, 11, 1))
    owner = UserFactory(organisation=org, role="owner")
    licences(org, 3)
    nov_10 = dt.datetime(2026, 11, 10, 12, tzinfo=PARIS)
    removal = licensing_services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=2,
        actor=owner,
        at=nov_10,
    )
    licensing_services.licence_restore(licence=removal.licences[0], actor=owner, at=nov_10)

    assert renewals_run(at=dt.datetime(2026, 11, 30, 23, 59, tzinfo=PARIS)) == 0
    renewals_run(at=dt.datetime(2026, 12, 1, 0, 0, tzinfo=PARIS))

    [invoice] = renewal_invoices(org)
    [line] = invoice.lines.all()
    assert (line.quantity, line.unit_price, line.amount) == (2, Decimal("19.00"), Decimal("38.00"))
    assert (line.period_start, line.period_end) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("38.00"),
        Decimal("7.60"),
        Decimal("45.60"),
    )
    assert Licence.objects.get(pk=removal.licences[1].pk).status == LicenceStatus.TERMINATED
    assert Licence.objects.filter(organisation=org, status="active").count() == 2


def test_running_twice_bills_the_period_once():
    org = renewing_organisation(dt.date(2026, 11, 1))
    licences(org, 2)
    at = dt.datetime(2026, 12, 1, 8, tzinfo=PARIS)

    assert renewals_run(at=at) == 1
    assert renewals_run(at=at) == 0

    assert len(renewal_invoices(org)) == 1


def test_missed_periods_are_each_billed_once_in_order():
    org = renewing_organisation(dt.date(2026, 9, 1))
    licences(org, 1)

    renewals_run(at=dt.datetime(2026, 12, 5, tzinfo=PARIS))

    assert [i.period_start for i in renewal_invoices(org)] == [
        dt.date(2026, 10, 1),
        dt.date(2026, 11, 1),
        dt.date(2026, 12, 1),
    ]
    assert [i.sequence for i in renewal_invoices(org)] == [1, 2, 3]


def test_yearly_renewal():
    org = renewing_organisation(dt.date(2026, 1, 12), billing_frequency="yearly")
    licences(org, 3)

    renewals_run(at=dt.datetime(2027, 1, 12, 0, 0, tzinfo=PARIS))

    [invoice] = renewal_invoices(org)
    assert invoice.subtotal == Decimal("570.00")  # 3 × 190.00
    assert (invoice.period_start, invoice.period_end) == (
        dt.date(2027, 1, 12),
        dt.date(2028, 1, 11),
    )


@pytest.mark.parametrize(
    ("anchor", "starts"),
    [
        (
            dt.date(2027, 12, 31),
            [
                dt.date(2028, 1, 31),
                dt.date(2028, 2, 29),
                dt.date(2028, 3, 31),
                dt.date(2028, 4, 30),
            ],
        ),
        (dt.date(2026, 12, 31), [dt.date(2027, 1, 31), dt.date(2027, 2, 28), dt.date(2027, 3, 31)]),
        (dt.date(2027, 12, 30), [dt.date(2028, 1, 30), dt.date(2028, 2, 29), dt.date(2028, 3, 30)]),
        (dt.date(2026, 12, 30), [dt.date(2027, 1, 30), dt.date(2027, 2, 28), dt.date(2027, 3, 30)]),
        (dt.date(2027, 12, 29), [dt.date(2028, 1, 29), dt.date(2028, 2, 29), dt.date(2028, 3, 29)]),
        (dt.date(2026, 12, 29), [dt.date(2027, 1, 29), dt.date(2027, 2, 28), dt.date(2027, 3, 29)]),
    ],
)
def test_anchor_days_29_30_31_across_february(anchor, starts):
    org = renewing_organisation(anchor)
    licences(org, 1)

    for start in starts:
        renewals_run(at=dt.datetime.combine(start, dt.time(0, 0), tzinfo=PARIS))

    invoices = renewal_invoices(org)
    assert [i.period_start for i in invoices] == starts
    for invoice, following in zip(invoices, starts[1:], strict=False):
        assert invoice.period_end == following - dt.timedelta(days=1)
        assert invoice.subtotal == Decimal("19.00")  # renewals bill whole periods


@pytest.mark.parametrize(
    ("zone", "utc_due"),
    [
        ("Pacific/Kiritimati", dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)),  # UTC+14
        ("Pacific/Pago_Pago", dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)),
    ],  # UTC-11
)
def test_far_from_utc_renews_at_local_midnight(zone, utc_due):
    org = renewing_organisation(dt.date(2026, 11, 1), timezone=zone)
    licences(org, 1)

    assert renewals_run(at=utc_due - dt.timedelta(seconds=1)) == 0
    assert renewals_run(at=utc_due) == 1

    [invoice] = renewal_invoices(org)
    assert invoice.period_start == dt.date(2026, 12, 1)
    assert invoice.issued_on == dt.date(2026, 12, 1)


def test_commitment_fee_in_review_and_on_the_invoice():
    org = renewing_organisation(dt.date(2026, 11, 1))
    owner = UserFactory(organisation=org, role="owner")
    licences(org, 10)
    Commitment.objects.create(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=10,
        ends_on=dt.date(2027, 6, 1),
    )
    nov_10 = dt.datetime(2026, 11, 10, 12, tzinfo=PARIS)

    review = licensing_services.licences_removal_quote(
        organisation=org, licence_type=licence_type("user_standard"), quantity=2, at=nov_10
    )
    result = licensing_services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=2,
        actor=owner,
        at=nov_10,
    )
    upcoming = upcoming_quote(org, at=nov_10)
    renewals_run(at=dt.datetime(2026, 12, 1, tzinfo=PARIS))

    # 2 licences below the commitment × 19.00 × 6 whole months (1 Dec → 1 Jun)
    assert review.termination_fee == result.termination_fee == Decimal("228.00")
    [invoice] = renewal_invoices(org)
    amounts = {line.kind: line.amount for line in invoice.lines.all()}
    assert amounts == {"licence": Decimal("152.00"), "termination_fee": Decimal("228.00")}
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("380.00"),
        Decimal("76.00"),
        Decimal("456.00"),
    )
    assert upcoming.total == invoice.total


def test_no_fee_when_the_removal_stays_at_or_above_the_commitment():
    org = renewing_organisation(dt.date(2026, 11, 1))
    owner = UserFactory(organisation=org, role="owner")
    licences(org, 12)
    Commitment.objects.create(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=10,
        ends_on=dt.date(2027, 6, 1),
    )

    result = licensing_services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=3,
        actor=owner,
        at=dt.datetime(2026, 11, 10, tzinfo=PARIS),
    )

    assert result.termination_fee == Decimal("19.00") * 1 * 6  # only the 3rd goes below


def test_usage_up_to_the_cap_then_refused_and_billed_next_period():
    org = renewing_organisation(dt.date(2026, 11, 1))
    owner = UserFactory(organisation=org, role="owner")
    number = give_number(owner)
    during = dt.datetime(2026, 11, 15, 9, tzinfo=PARIS)

    for cost in ("100.00", "149.99", "0.01"):
        usage.usage_record(
            number=number, kind="call", direction="outbound", started_at=during, cost=Decimal(cost)
        )
    with pytest.raises(errors.CallingCreditCapReached):
        usage.usage_record(
            number=number, kind="sms", direction="outbound", started_at=during, cost=Decimal("0.01")
        )

    assert UsageRecord.objects.filter(organisation=org).count() == 3
    assert usage.usage_used(org, at=during) == Decimal("250.00")
    renewals_run(at=dt.datetime(2026, 12, 1, tzinfo=PARIS))
    [invoice] = renewal_invoices(org)
    usage_line = invoice.lines.get(kind="usage")
    assert usage_line.amount == Decimal("250.00")
    assert not UsageRecord.objects.filter(organisation=org, invoice__isnull=True).exists()


@pytest.mark.time_machine(dt.datetime(2026, 11, 20, 10, tzinfo=PARIS), tick=False)
def test_device_orders_on_the_next_invoice():
    org = renewing_organisation(dt.date(2026, 11, 1))
    owner = UserFactory(organisation=org, role="owner")
    licences(org, 1)
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=PARIS), tick=False):
        licensing_services.device_order(
            organisation=org,
            device=Device.objects.get(code="ip_desk_phone"),
            quantity=2,
            actor=owner,
        )

    renewals_run(at=dt.datetime(2026, 12, 1, tzinfo=PARIS))

    [invoice] = renewal_invoices(org)
    device = invoice.lines.get(kind="device")
    assert (device.quantity, device.unit_price, device.amount) == (
        2,
        Decimal("129.00"),
        Decimal("258.00"),
    )
    assert invoice.subtotal == Decimal("277.00")


@pytest.mark.parametrize(
    ("quantity", "code"),
    [(0, "min_value"), (-2, "min_value"), ("2", "min_value"), (1001, "max_value")],
)
def test_a_device_order_of_a_bad_quantity_is_refused_and_changes_nothing(quantity, code):
    org = renewing_organisation()
    owner = UserFactory(organisation=org, role="owner")

    with pytest.raises(ValidationError) as refused:
        licensing_services.device_order(
            organisation=org,
            device=Device.objects.get(code="ip_desk_phone"),
            quantity=quantity,
            actor=owner,
        )

    assert refused.value.error_dict["quantity"][0].code == code
    assert not Charge.objects.filter(organisation=org).exists()


def test_tax_rounds_half_up_on_the_subtotal():
    org = renewing_organisation(dt.date(2026, 11, 1), tax_rate=Decimal("0.0550"))
    licences(org, 1)

    renewals_run(at=dt.datetime(2026, 12, 1, tzinfo=PARIS))

    [invoice] = renewal_invoices(org)
    assert invoice.tax == Decimal("1.05")  # 19.00 × 5.5 % = 1.045
    assert invoice.total == Decimal("20.05")


def test_upcoming_preview_matches_the_renewal_exactly():
    org = renewing_organisation(dt.date(2026, 11, 1))
    owner = UserFactory(organisation=org, role="owner")
    licences(org, 4)
    licences(org, 2, "phone_system")
    licensing_services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=owner,
        at=dt.datetime(2026, 11, 3, tzinfo=PARIS),
    )
    licensing_services.device_order(
        organisation=org, device=Device.objects.get(code="obihai_ata"), quantity=1, actor=owner
    )

    quote = upcoming_quote(org, at=dt.datetime(2026, 11, 20, tzinfo=PARIS))
    renewals_run(at=dt.datetime(2026, 12, 1, tzinfo=PARIS))

    [invoice] = renewal_invoices(org)
    assert [(line.description, line.amount) for line in quote.lines] == [
        (line.description, line.amount) for line in invoice.lines.all()
    ]
    assert (quote.subtotal, quote.tax, quote.total) == (
        invoice.subtotal,
        invoice.tax,
        invoice.total,
    )
    assert Licence.objects.filter(organisation=org, status="removal_scheduled").count() == 0


def test_overdue_restricts_and_payment_lifts_it():
    org = renewing_organisation(dt.date(2026, 11, 1))
    licences(org, 1)
    renewals_run(at=dt.datetime(2026, 12, 1, tzinfo=PARIS))
    [invoice] = renewal_invoices(org)
    assert invoice.due_on == dt.date(2026, 12, 15)

    late = dt.datetime(2026, 12, 16, 9, tzinfo=PARIS)
    assert billing_services.invoices_flag_overdue(at=late) == 1
    assert billing_services.invoices_flag_overdue(at=late) == 0
    assert organisation_is_restricted(org, at=late)

    billing_services.invoice_record_payment(invoice=invoice, actor=None, reference="bank-1")
    assert not organisation_is_restricted(org, at=late)
    with pytest.raises(errors.InvoiceNotPayable):
        billing_services.invoice_record_payment(invoice=invoice, actor=None)


def test_credit_and_reissue_never_edits_the_issued_invoice():
    from billing.credit_notes import invoice_reissue
    from billing.quotes import Quote, QuoteLine

    org = renewing_organisation(dt.date(2026, 11, 1))
    licences(org, 1)
    renewals_run(at=dt.datetime(2026, 12, 1, tzinfo=PARIS))
    [invoice] = renewal_invoices(org)
    corrected_quote = Quote(
        currency="EUR",
        tax_rate=org.tax_rate,
        lines=[
            QuoteLine(
                description="User licence, goodwill",
                kind="licence",
                quantity=1,
                unit_price=Decimal("9.50"),
                amount=Decimal("9.50"),
            )
        ],
    )

    corrected = invoice_reissue(
        invoice=invoice, quote=corrected_quote, actor=None, reason="goodwill"
    )

    invoice.refresh_from_db()
    assert invoice.status == "credited" and invoice.total == Decimal("22.80")
    assert invoice.credit_notes.get().total == Decimal("22.80")
    assert corrected.replaces == invoice and corrected.total == Decimal("11.40")
    assert corrected.sequence == invoice.sequence + 1
