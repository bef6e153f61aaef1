"""The renewal job renews organisations in batches: the same invoices as one at a time, a fixed
number of queries per batch, and an organisation the database refuses cannot stall the rest."""

import datetime as dt
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from accounts.models import Organisation
from billing import services as billing_services
from billing.models import Commitment, Invoice, UsageRecord
from billing.quotes import Quote
from billing.renewal import renewals_run
from billing.usage import usage_record
from licensing import services as licensing_services
from licensing.models import Device
from tests.factories import (
    LicenceFactory,
    UserFactory,
    give_number,
    licence_type,
    renewing_organisation,
)

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
DEC_1 = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def make_org(anchor=dt.date(2026, 11, 1), licences=2, **kwargs) -> Organisation:
    org = renewing_organisation(anchor, **kwargs)
    for _ in range(licences):
        LicenceFactory(organisation=org, licence_type=licence_type("user_standard"))
    return org


@pytest.fixture
def mixed():
    """Organisations exercising every part of a renewal invoice."""
    nov_10 = dt.datetime(2026, 11, 10, 12, tzinfo=PARIS)
    removal = make_org(licences=3)
    owner = UserFactory(organisation=removal, role="owner")
    licensing_services.licences_schedule_removal(
        organisation=removal,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=owner,
        at=nov_10,
    )
    committed = make_org(licences=10)
    Commitment.objects.create(
        organisation=committed,
        licence_type=licence_type("user_standard"),
        quantity=10,
        ends_on=dt.date(2027, 6, 1),
    )
    licensing_services.licences_schedule_removal(
        organisation=committed,
        licence_type=licence_type("user_standard"),
        quantity=2,
        actor=UserFactory(organisation=committed, role="owner"),
        at=nov_10,
    )
    devices = make_org()
    with time_machine.travel(nov_10, tick=False):  # ordered before the period starts
        licensing_services.device_order(
            organisation=devices,
            device=Device.objects.get(code="ip_desk_phone"),
            quantity=2,
            actor=UserFactory(organisation=devices, role="owner"),
        )
    usage = make_org(licences=0)
    caller = UserFactory(organisation=usage, role="owner")
    number = give_number(caller, at=nov_10)
    for cost in ("1.25", "2.50"):
        usage_record(
            number=number, kind="call", direction="outbound", started_at=nov_10, cost=Decimal(cost)
        )
    return [
        removal,
        committed,
        devices,
        usage,
        make_org(anchor=dt.date(2025, 12, 1), billing_frequency="yearly"),
        make_org(timezone="Pacific/Kiritimati", tax_rate=Decimal("0.0550")),
        make_org(licences=0),  # nothing to bill: advanced without an invoice
        make_org(anchor=dt.date(2026, 9, 1)),  # three periods due
    ]


def invoices() -> list[tuple]:
    return sorted(
        (
            invoice.organisation_id,
            invoice.number,
            invoice.period_start,
            invoice.issued_on,
            invoice.due_on,
            invoice.subtotal,
            invoice.tax,
            invoice.total,
            [
                (
                    line.position,
                    line.description,
                    line.kind,
                    line.licence_type_id,
                    line.quantity,
                    line.unit_price,
                    line.amount,
                    line.period_start,
                    line.period_end,
                )
                for line in invoice.lines.order_by("position")
            ],
        )
        for invoice in Invoice.objects.filter(kind="renewal")
    )


def state(organisations) -> list[tuple]:
    return sorted(
        Organisation.objects.filter(pk__in=[o.pk for o in organisations]).values_list(
            "pk", "next_renewal_at", "last_invoice_sequence"
        )
    )


@pytest.mark.time_machine(dt.datetime(2026, 11, 20, 10, tzinfo=PARIS), tick=False)
def test_a_batch_bills_exactly_what_one_at_a_time_bills(mixed):
    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            assert renewals_run(at=DEC_1, batch_size=1) == 10
            one_at_a_time = invoices(), state(mixed)
            raise Undo
    except Undo:
        pass

    assert renewals_run(at=DEC_1, batch_size=100) == 10

    assert (invoices(), state(mixed)) == one_at_a_time
    kinds = {line[2] for invoice in one_at_a_time[0] for line in invoice[-1]}
    assert kinds == {"licence", "termination_fee", "device", "usage"}
    assert not UsageRecord.objects.filter(invoice__isnull=True).exists()


def test_a_batch_costs_the_same_queries_however_many_organisations_it_holds(
    django_assert_max_num_queries,
):
    for _ in range(3):
        make_org()
    with django_assert_max_num_queries(20) as few:
        assert renewals_run(at=DEC_1) == 3
    for _ in range(60):
        make_org()
    with django_assert_max_num_queries(len(few)) as many:
        assert renewals_run(at=DEC_1) == 60
    assert len(many) == len(few)


def test_an_organisation_the_database_refuses_is_set_aside_and_the_rest_renewed(caplog):
    refused, *others = [make_org() for _ in range(5)]
    # Something already holds the invoice number the refused organisation's renewal would take.
    squatter = make_org(licences=0)
    billing_services.invoice_issue(
        organisation=squatter,
        kind="purchase",
        actor=None,
        quote=Quote(currency="EUR", tax_rate=Decimal("0"), lines=[]),
    )
    Invoice.objects.filter(organisation=squatter).update(number=f"{refused.invoice_prefix}-000001")

    with caplog.at_level(logging.ERROR, logger="billing.renewal"):
        assert renewals_run(at=DEC_1) == 6

    assert f"renewal of organisation {refused.pk} refused" in caplog.text
    assert not Invoice.objects.filter(organisation=refused).exists()
    assert Organisation.objects.get(pk=refused.pk).next_renewal_at == refused.next_renewal_at
    assert Invoice.objects.filter(organisation__in=others, kind="renewal").count() == 4
    assert renewals_run(at=DEC_1) == 1  # a later run tries it again


def test_usage_reported_after_the_renewal_waits_for_the_next_one():
    org = make_org(licences=0)
    owner = UserFactory(organisation=org, role="owner")
    nov_20 = dt.datetime(2026, 11, 20, tzinfo=PARIS)
    number = give_number(owner, at=nov_20)
    renewals_run(at=DEC_1)

    late = usage_record(
        number=number, kind="call", direction="outbound", started_at=nov_20, cost=Decimal("3.00")
    )
    renewals_run(at=dt.datetime(2027, 1, 1, 12, tzinfo=dt.UTC))

    late.refresh_from_db()
    assert late.invoice.period_start == dt.date(2027, 1, 1)
    assert late.invoice.lines.get(kind="usage").amount == Decimal("3.00")
