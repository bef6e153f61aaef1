"""The renewal is one SQL statement per batch (billing.renewal._RENEW): what it must agree on with
the Python side, what its preview leaves behind (nothing), and what it refuses."""

import datetime as dt
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest
import time_machine
from django.db import connection
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import AuditEvent, Organisation
from billing import usage
from billing.models import Charge, Invoice, UsageRecord
from billing.renewal import renewals_run, upcoming_quote
from licensing import services as licensing_services
from licensing.models import Device, Licence, LicencePrice, LicenceStatus
from telecom.money import tax_amount
from tests.factories import (
    LicenceFactory,
    UserFactory,
    give_number,
    licence_type,
    renewing_organisation,
)

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOV_10 = dt.datetime(2026, 11, 10, 12, tzinfo=PARIS)
DEC_1 = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


@given(
    subtotal=st.decimals(min_value=-(10**9), max_value=10**9, places=2),
    rate=st.decimals(min_value=0, max_value=Decimal("0.9999"), places=4),
)
@example(subtotal=Decimal("2.50"), rate=Decimal("0.0500"))  # 0.125: half up gives 0.13
@example(subtotal=Decimal("-2.50"), rate=Decimal("0.0500"))  # a credit rounds symmetrically
@example(subtotal=Decimal("0.10"), rate=Decimal("0.0550"))
@hypothesis_settings(max_examples=300, deadline=None)
def test_the_statement_rounds_tax_as_the_python_side_does(subtotal, rate):
    # The statement's expression for the tax, on the columns' types.
    with connection.cursor() as cursor:
        cursor.execute("SELECT round(%s::numeric(12, 2) * %s::numeric(5, 4), 2)", [subtotal, rate])
        [(in_sql,)] = cursor.fetchall()
    assert in_sql == tax_amount(subtotal=subtotal, rate=rate)


@pytest.fixture
def busy_org():
    """An organisation whose renewal would do everything: terminate, fee, charge, usage."""
    org = renewing_organisation(tax_rate=Decimal("0.0550"))
    owner = UserFactory(organisation=org, role="owner")
    for _ in range(4):
        LicenceFactory(organisation=org, licence_type=licence_type("user_standard"))
    licensing_services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=owner,
        at=NOV_10,
    )
    with time_machine.travel(NOV_10, tick=False):  # ordered before the period starts
        licensing_services.device_order(
            organisation=org,
            device=Device.objects.get(code="ip_desk_phone"),
            quantity=1,
            actor=owner,
        )
    number = give_number(owner, at=NOV_10)
    usage.usage_record(
        number=number, kind="call", direction="outbound", started_at=NOV_10, cost=Decimal("1.25")
    )
    return org


def snapshot(org) -> dict:
    org.refresh_from_db()
    return {
        "invoices": list(Invoice.objects.filter(organisation=org).values_list("pk", flat=True)),
        "audit": AuditEvent.objects.filter(organisation=org).count(),
        "organisation": (org.next_renewal_at, org.last_invoice_sequence),
        "licences": sorted(
            Licence.objects.filter(organisation=org).values_list("pk", "status", "terminated_on")
        ),
        "unbilled charges": Charge.objects.filter(organisation=org, invoice=None).count(),
        "unbilled usage": UsageRecord.objects.filter(organisation=org, invoice=None).count(),
    }


@pytest.mark.time_machine(dt.datetime(2026, 11, 20, 10, tzinfo=PARIS), tick=False)
def test_the_preview_is_the_renewal_and_leaves_nothing_behind(busy_org):
    before = snapshot(busy_org)

    preview = upcoming_quote(busy_org)

    assert snapshot(busy_org) == before
    assert before["unbilled charges"] == before["unbilled usage"] == 1
    assert {line.kind for line in preview.lines} == {"licence", "device", "usage"}
    renewals_run(at=DEC_1)
    invoice = Invoice.objects.get(organisation=busy_org, kind="renewal")
    assert [
        (line.position, line.description, line.quantity, line.unit_price, line.amount)
        for line in invoice.lines.order_by("position")
    ] == [
        (position, line.description, line.quantity, line.unit_price, line.amount)
        for position, line in enumerate(preview.lines, start=1)
    ]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        preview.subtotal,
        preview.tax,
        preview.total,
    )
    assert Licence.objects.filter(
        organisation=busy_org, status=LicenceStatus.TERMINATED, terminated_on=dt.date(2026, 12, 1)
    ).exists()


@pytest.mark.time_machine(dt.datetime(2026, 11, 20, 10, tzinfo=PARIS), tick=False)
def test_the_invoice_audit_row_says_what_was_issued(busy_org):
    renewals_run(at=DEC_1)

    invoice = Invoice.objects.get(organisation=busy_org, kind="renewal")
    event = AuditEvent.objects.get(action="invoice.issued", target_id=str(invoice.pk))
    assert (event.organisation_id, event.actor_id, event.actor_label) == (
        busy_org.pk,
        None,
        "system",
    )
    assert (event.target_type, event.target_label) == ("invoice", invoice.number)
    assert event.changes == {"kind": "renewal", "total": str(invoice.total), "currency": "EUR"}
    terminated = AuditEvent.objects.filter(
        action="licence.terminated_at_end", organisation=busy_org
    )
    assert terminated.count() == 1


def test_a_licence_type_with_no_price_is_refused_not_billed_short(caplog):
    priced, unpriced = renewing_organisation(currency="EUR"), renewing_organisation(currency="GBP")
    for org in (priced, unpriced):
        LicenceFactory(organisation=org, licence_type=licence_type("user_standard"))
        LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    LicencePrice.objects.filter(licence_type=licence_type("phone_system"), currency="GBP").delete()

    with caplog.at_level(logging.ERROR, logger="billing.renewal"):
        assert renewals_run(at=DEC_1) == 2

    assert f"renewal of organisation {unpriced.pk} refused" in caplog.text
    assert 'null value in column "unit_price"' in caplog.text
    assert not Invoice.objects.filter(organisation=unpriced).exists()
    assert Organisation.objects.get(pk=unpriced.pk).next_renewal_at == unpriced.next_renewal_at
    assert Invoice.objects.get(organisation=priced).lines.count() == 2


def test_a_period_already_billed_is_only_moved_on():
    org = renewing_organisation()
    LicenceFactory(organisation=org, licence_type=licence_type("user_standard"))
    due_at = org.next_renewal_at
    renewals_run(at=DEC_1)
    # As if an earlier run had billed the period but not moved the organisation on.
    Organisation.objects.filter(pk=org.pk).update(next_renewal_at=due_at)

    assert renewals_run(at=DEC_1) == 1

    org.refresh_from_db()
    assert Invoice.objects.filter(organisation=org, kind="renewal").count() == 1
    assert org.last_invoice_sequence == 1
    assert org.next_renewal_at > DEC_1


@pytest.mark.django_db(transaction=True)
def test_the_preview_takes_no_lock_and_writes_nothing(busy_org):
    """A dashboard never waits behind a renewal: the preview reads while another transaction
    holds the organisation's row, and sends no write, lock or savepoint."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    expected = upcoming_quote(busy_org)
    holder = psycopg.connect(**connection.get_connection_params(), autocommit=False)
    try:
        holder.execute(
            "SELECT 1 FROM accounts_organisation WHERE id = %s FOR UPDATE", [busy_org.pk]
        )
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        with CaptureQueriesContext(connection) as queries:
            preview = upcoming_quote(busy_org)
    finally:
        holder.rollback()
        holder.close()
    assert preview.total == expected.total
    assert [line.amount for line in preview.lines] == [line.amount for line in expected.lines]
    statements = " ".join(query["sql"].upper() for query in queries.captured_queries)
    for word in ("INSERT ", "UPDATE ", "DELETE ", "SAVEPOINT", "FOR UPDATE", "FOR SHARE"):
        assert word not in statements
