"""A renewal bills the licences in force at its period's first instant, and nothing else, however
late the job runs (docs/rules.md, "renewal counts what was held"); the upcoming invoice the
evening before is that invoice to the cent; a catch-up invoice is due from its issue."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billing.models import Commitment, Invoice, InvoiceKind
from billing.renewal import _schedule_of, in_force_at, renewals_run, upcoming_quote
from billing.restriction import organisation_is_restricted
from licensing import services as licensing_services
from licensing.models import Licence, LicenceStatus
from tests.factories import LicenceFactory, UserFactory, licence_type, renewing_organisation

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def paris(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def renewal_invoices(org) -> list[Invoice]:
    return list(
        Invoice.objects.filter(organisation=org, kind=InvoiceKind.RENEWAL).order_by("period_start")
    )


def licence_lines(invoice) -> list[tuple]:
    return [
        (line.licence_type.code, line.quantity, line.unit_price, line.amount)
        for line in invoice.lines.filter(kind="licence").order_by("position")
    ]


def upcoming_at(org, at):
    with time_machine.travel(at, tick=False):
        org.refresh_from_db()
        return upcoming_quote(org)


def buy(org, owner, code, quantity, at):
    return licensing_services.licences_purchase(
        organisation=org, licence_type=licence_type(code), quantity=quantity, actor=owner, at=at
    )


def test_a_licence_bought_on_the_first_day_is_paid_by_its_purchase_not_billed_again():
    # Held one phone system since 1 Nov; on 1 Dec at 00:02 in Paris buys a second, which costs a
    # full period (24.95) at purchase; the hourly renewal runs at 00:05.
    org = renewing_organisation(dt.date(2026, 11, 1))
    owner = UserFactory(organisation=org, role="owner")
    LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    evening_before = upcoming_at(org, paris(2026, 11, 30, 20))

    purchase = buy(org, owner, "phone_system", 1, paris(2026, 12, 1, 0, 2)).invoice
    assert (purchase.subtotal, purchase.total) == (Decimal("24.95"), Decimal("29.94"))
    assert renewals_run(at=paris(2026, 12, 1, 0, 5)) == 1

    [december] = renewal_invoices(org)
    assert licence_lines(december) == [("phone_system", 1, Decimal("24.95"), Decimal("24.95"))]
    assert (december.subtotal, december.tax, december.total) == (
        Decimal("24.95"),
        Decimal("4.99"),
        Decimal("29.94"),
    )
    assert evening_before.total == december.total
    assert [line.amount for line in evening_before.lines] == [Decimal("24.95")]
    # January bills both: the purchase paid December only.
    renewals_run(at=paris(2027, 1, 1, 0, 5))
    assert licence_lines(renewal_invoices(org)[1]) == [
        ("phone_system", 2, Decimal("24.95"), Decimal("49.90"))
    ]


def test_the_upcoming_invoice_just_after_a_first_day_purchase_is_the_renewal():
    org = renewing_organisation(dt.date(2026, 11, 1))
    owner = UserFactory(organisation=org, role="owner")
    LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    buy(org, owner, "phone_system", 1, paris(2026, 12, 1, 0, 2))

    preview = upcoming_at(org, paris(2026, 12, 1, 0, 3))
    renewals_run(at=paris(2026, 12, 1, 0, 5))

    assert preview.total == renewal_invoices(org)[0].total == Decimal("29.94")


def test_missed_periods_are_billed_as_they_would_have_been_on_time():
    # 1 licence held from 1 Jan; the job is down until 1 Apr; 3 bought on 15 Mar (paid pro rata).
    org = renewing_organisation(dt.date(2027, 1, 1))
    owner = UserFactory(organisation=org, role="owner")
    LicenceFactory(organisation=org)
    purchase = buy(org, owner, "user_standard", 3, paris(2027, 3, 15, 12)).invoice
    # 3 × 19.00 × 17/31 days = 31.258… → 31.26
    assert purchase.subtotal == Decimal("31.26")
    evening_before = upcoming_at(org, paris(2027, 3, 31, 20))

    assert renewals_run(at=paris(2027, 4, 1, 0, 30)) == 3

    february, march, april = renewal_invoices(org)
    assert [i.period_start for i in (february, march, april)] == [
        dt.date(2027, 2, 1),
        dt.date(2027, 3, 1),
        dt.date(2027, 4, 1),
    ]
    assert licence_lines(february) == [("user_standard", 1, Decimal("19.00"), Decimal("19.00"))]
    assert licence_lines(march) == [("user_standard", 1, Decimal("19.00"), Decimal("19.00"))]
    assert licence_lines(april) == [("user_standard", 4, Decimal("19.00"), Decimal("76.00"))]
    assert [i.total for i in (february, march, april)] == [
        Decimal("22.80"),
        Decimal("22.80"),
        Decimal("91.20"),
    ]
    # The preview the evening before showed the oldest period due, which is what was billed first.
    assert evening_before.total == february.total


def test_a_catch_up_invoice_is_due_from_its_issue_and_restricts_nobody_on_issue():
    org = renewing_organisation(dt.date(2027, 1, 1))
    LicenceFactory(organisation=org)

    renewals_run(at=paris(2027, 4, 1, 0, 30))

    for invoice in renewal_invoices(org):
        assert invoice.issued_on == dt.date(2027, 4, 1)
        assert invoice.due_on == dt.date(2027, 4, 15)
        assert invoice.issued_at == paris(2027, 4, 1, 0, 30)
    org.refresh_from_db()
    assert not organisation_is_restricted(org, at=paris(2027, 4, 1, 12))
    assert not organisation_is_restricted(org, at=paris(2027, 4, 15, 12))
    assert organisation_is_restricted(org, at=paris(2027, 4, 16, 12))


def test_an_on_time_renewal_is_issued_at_its_period_start():
    org = renewing_organisation(dt.date(2026, 11, 1))
    LicenceFactory(organisation=org)

    renewals_run(at=paris(2026, 12, 1, 0, 0))

    [invoice] = renewal_invoices(org)
    assert (invoice.issued_at, invoice.issued_on, invoice.due_on) == (
        paris(2026, 12, 1),
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 15),
    )


def test_a_removal_effective_in_a_missed_period_is_not_billed_after_it():
    # 3 held; 1 scheduled for removal on 10 Jan (effective 1 Feb); the job is down until 1 Mar.
    org = renewing_organisation(dt.date(2027, 1, 1))
    owner = UserFactory(organisation=org, role="owner")
    for _ in range(3):
        LicenceFactory(organisation=org)
    licensing_services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=owner,
        at=paris(2027, 1, 10, 12),
    )

    renewals_run(at=paris(2027, 3, 1, 9))

    february, march = renewal_invoices(org)
    assert licence_lines(february)[0][1] == 2
    assert licence_lines(march)[0][1] == 2
    assert Licence.objects.filter(organisation=org, status=LicenceStatus.TERMINATED).count() == 1


def test_the_termination_fee_counts_what_remained_at_the_period_start_not_later_purchases():
    # Committed to 3 until 1 Jul; 3 held; 1 removed effective 1 Feb; the job is down until 1 Apr
    # and 2 more are bought on 15 Mar. On time, 1 Feb had 2 of the 3 committed: 1 below, a fee of
    # 19.00 × 5 whole months (1 Feb → 1 Jul) = 95.00; the March purchases change nothing of that.
    org = renewing_organisation(dt.date(2027, 1, 1))
    owner = UserFactory(organisation=org, role="owner")
    for _ in range(3):
        LicenceFactory(organisation=org)
    Commitment.objects.create(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=3,
        ends_on=dt.date(2027, 7, 1),
    )
    removal = licensing_services.licences_schedule_removal(
        organisation=org,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=owner,
        at=paris(2027, 1, 10, 12),
    )
    assert removal.termination_fee == Decimal("95.00")
    buy(org, owner, "user_standard", 2, paris(2027, 3, 15, 12))

    renewals_run(at=paris(2027, 4, 1, 0, 30))

    february = renewal_invoices(org)[0]
    fee = february.lines.get(kind="termination_fee")
    assert (fee.quantity, fee.unit_price, fee.amount) == (1, Decimal("95.00"), Decimal("95.00"))
    assert licence_lines(february) == [("user_standard", 2, Decimal("19.00"), Decimal("38.00"))]
    assert february.total == Decimal("159.60")  # (38.00 + 95.00) × 1.20


def test_in_force_at_is_what_the_renewal_statement_counts():
    """The ORM's words for "held at a period's start" and the statement's `held` CTE agree on a
    licence of every kind of history."""
    org = renewing_organisation(dt.date(2026, 11, 1))
    schedule = _schedule_of(org)  # the 1 Dec renewal
    LicenceFactory(organisation=org)  # held since sign-up: counted
    LicenceFactory(organisation=org, purchased_at=paris(2026, 11, 30, 23, 59))  # counted
    LicenceFactory(organisation=org, purchased_at=paris(2026, 12, 1, 0, 0))  # first instant: not
    LicenceFactory(organisation=org, purchased_at=paris(2026, 12, 1, 0, 2))  # not
    LicenceFactory(  # removal effective at the period start: not
        organisation=org,
        status=LicenceStatus.REMOVAL_SCHEDULED,
        removal_effective_on=dt.date(2026, 12, 1),
    )
    LicenceFactory(  # removal effective a period later: counted
        organisation=org,
        status=LicenceStatus.REMOVAL_SCHEDULED,
        removal_effective_on=dt.date(2027, 1, 1),
    )
    LicenceFactory(  # terminated at an earlier period start: not
        organisation=org,
        status=LicenceStatus.TERMINATED,
        removal_effective_on=dt.date(2026, 11, 1),
        terminated_on=dt.date(2026, 11, 1),
    )
    LicenceFactory(  # terminated later (a renewal that ran late, for a later period): counted
        organisation=org,
        status=LicenceStatus.TERMINATED,
        removal_effective_on=dt.date(2027, 1, 1),
        terminated_on=dt.date(2027, 1, 1),
    )
    assert in_force_at(schedule).filter(organisation=org).count() == 4

    renewals_run(at=paris(2026, 12, 1, 0, 5))

    [invoice] = renewal_invoices(org)
    assert licence_lines(invoice) == [("user_standard", 4, Decimal("19.00"), Decimal("76.00"))]


def test_the_api_upcoming_invoice_the_evening_before_is_the_catch_up_renewal(api_client_for):
    org = renewing_organisation(dt.date(2027, 1, 1))
    owner = UserFactory(organisation=org, role="owner")
    LicenceFactory(organisation=org)
    buy(org, owner, "user_standard", 3, paris(2027, 3, 15, 12))

    with time_machine.travel(paris(2027, 3, 31, 20), tick=False):
        upcoming = api_client_for(owner).get("/api/v1/billing/upcoming/")
    renewals_run(at=paris(2027, 4, 1, 0, 30))

    assert upcoming.status_code == 200
    february = renewal_invoices(org)[0]
    assert (
        (upcoming.json()["subtotal"], upcoming.json()["total"])
        == (
            str(february.subtotal),
            str(february.total),
        )
        == ("19.00", "22.80")
    )
