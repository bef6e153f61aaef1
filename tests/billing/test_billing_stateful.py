"""Random lives of one organisation, played through the services with a pinned clock: buying,
removing, restoring, terminating, numbers assigned with auto-purchase, device orders, usage,
time passing over month ends, and renewals run on time or several periods late.

After every step two things must hold:
(a) every preview equals, to the cent, the invoice the action then issues (a purchase's review,
    an assignment's review, the upcoming renewal invoice);
(b) what was billed equals an independent computation kept by this test from the actions alone:
    for each renewed period, the licences in force at its first instant × the unit price; for
    each purchase, its pro rata, worked out here with fractions; every device charge and usage
    record on the first renewal whose period starts after it, each once.
"""

import datetime as dt
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from billing import services as billing_services
from billing import usage
from billing.models import Charge, Invoice, InvoiceKind, UsageRecord
from billing.periods import local_date, local_midnight, next_period, period_containing
from billing.renewal import first_renewal_at, renewals_run, upcoming_quote
from licensing import services as licensing_services
from licensing.models import Device, Licence, LicenceStatus
from numbering import services as numbering_services
from telecom.errors import DomainError
from tests.factories import OrganisationFactory, StaffFactory, UserFactory, licence_type

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PARIS = "Europe/Paris"
START = dt.datetime(2027, 1, 31, 10, tzinfo=ZoneInfo(PARIS))  # anchor 31: clamped months
PRICES = {"user_standard": Decimal("19.00"), "phone_system": Decimal("24.95")}
DEVICE_PRICE = Decimal("129.00")
TAX_RATE = Decimal("0.2000")
CENT = Decimal("0.01")


def cents(value: Fraction | Decimal) -> Decimal:
    """Half up to the cent, computed here independently of telecom.money."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class OrganisationLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.now = START
        self.traveller = time_machine.travel(self.now, tick=False)
        self.clock = self.traveller.start()
        self.org = OrganisationFactory(
            billing_anchor=START.date(), timezone=PARIS, tax_rate=TAX_RATE, plan="max"
        )
        self.org.next_renewal_at = first_renewal_at(self.org)
        self.org.save(update_fields=["next_renewal_at"])
        self.owner = UserFactory(organisation=self.org, role="owner")
        self.members = [self.owner, UserFactory(organisation=self.org, role="user")]
        self.staff = StaffFactory()
        # The model: each licence's type, when bought and when its removal takes effect.
        self.licences: dict = {}
        self.purchases: list[tuple[dt.datetime, Counter]] = []  # (when, new licences by type)
        self.devices: list[tuple[dt.datetime, Decimal]] = []
        self.usage: list[tuple[dt.date, Decimal]] = []  # (period start, cost)
        self.numbers: list = []

    def teardown(self):
        self.traveller.stop()

    # --- the model's own arithmetic ---------------------------------------------------------

    def period_on(self, day: dt.date):
        return period_containing(anchor=START.date(), frequency="monthly", on=day)

    def today(self) -> dt.date:
        return local_date(self.now, PARIS)

    def pro_rata(self, at: dt.datetime, quantity: int, code: str) -> Decimal:
        day = local_date(at, PARIS)
        period = self.period_on(day)
        days = Fraction((period.end - day).days, (period.end - period.start).days)
        return cents(Fraction(PRICES[code]) * quantity * days)

    def expected_renewal(self, period, previous_start_at, starts_at) -> Decimal:
        held = Counter(
            licence["code"]
            for licence in self.licences.values()
            if licence["bought"] < starts_at
            and (licence["removal_on"] is None or licence["removal_on"] > period.start)
        )
        amount = sum((PRICES[code] * count for code, count in held.items()), Decimal("0"))
        amount += sum(
            (cost for at, cost in self.devices if previous_start_at <= at < starts_at),
            Decimal("0"),
        )
        previous_start = local_date(previous_start_at, PARIS)
        amount += sum(
            (cost for start, cost in self.usage if previous_start <= start < period.start),
            Decimal("0"),
        )
        return amount

    def sync_licences(self, *, bought_now: int = 0, code: str | None = None) -> None:
        """Take in the licences the service created (checking there are exactly `bought_now`,
        bought now) and each licence's removal date as the service set it."""
        rows = Licence.objects.filter(organisation=self.org).values(
            "pk", "licence_type__code", "purchased_at", "removal_effective_on"
        )
        new = [row for row in rows if row["pk"] not in self.licences]
        assert len(new) == bought_now
        for row in new:
            assert row["purchased_at"] == self.now and row["licence_type__code"] == code
            self.licences[row["pk"]] = {"code": code, "bought": self.now, "removal_on": None}
        for row in rows:
            self.licences[row["pk"]]["removal_on"] = row["removal_effective_on"]
        if bought_now:
            self.purchases.append((self.now, Counter({code: bought_now})))

    def restorable(self, code: str) -> list:
        return [
            pk
            for pk, licence in self.licences.items()
            if licence["code"] == code
            and licence["removal_on"] is not None
            and licence["removal_on"] > self.today()
        ]

    def pay_everything(self) -> None:
        """Paid by bank transfer as soon as issued: nothing restricts the account (rule 18)."""
        for invoice in Invoice.objects.filter(organisation=self.org, status="issued"):
            billing_services.invoice_record_payment(
                invoice=invoice, actor=self.staff, method="bank_transfer", reference="TR-1"
            )

    # --- time -------------------------------------------------------------------------------

    def move_to(self, moment: dt.datetime) -> None:
        self.now = moment
        self.clock.move_to(moment)

    @rule(days=st.integers(0, 45), hour=st.integers(0, 23))
    def time_passes(self, days, hour):
        day = self.today() + dt.timedelta(days=days)
        self.move_to(max(self.now, dt.datetime.combine(day, dt.time(hour), ZoneInfo(PARIS))))

    @rule(minutes=st.integers(0, 90))
    def to_the_next_period_start(self, minutes):
        next_start = local_midnight(self.period_on(self.today()).end, PARIS)
        self.move_to(next_start + dt.timedelta(minutes=minutes))

    @rule()
    def renewal_runs(self):
        self.org.refresh_from_db()
        due = self.org.next_renewal_at <= self.now
        preview = upcoming_quote(self.org) if due else None
        before = set(Invoice.objects.filter(organisation=self.org).values_list("pk", flat=True))
        renewals_run(at=self.now)
        issued = list(
            Invoice.objects.filter(organisation=self.org, kind=InvoiceKind.RENEWAL)
            .exclude(pk__in=before)
            .order_by("period_start")
        )
        self.sync_licences()
        if preview is not None and preview.lines:
            # (a) the preview is the first period billed, to the cent.
            assert issued and issued[0].total == preview.total
            assert [line.amount for line in issued[0].lines.order_by("position")] == [
                line.amount for line in preview.lines
            ]
        self.pay_everything()

    # --- licences ---------------------------------------------------------------------------

    @rule(code=st.sampled_from(sorted(PRICES)), quantity=st.integers(1, 3))
    def buy(self, code, quantity):
        restored = min(quantity, len(self.restorable(code)))
        review = licensing_services.licences_purchase_quote(
            organisation=self.org, licence_type=licence_type(code), quantity=quantity
        )
        result = licensing_services.licences_purchase(
            organisation=self.org,
            licence_type=licence_type(code),
            quantity=quantity,
            actor=self.owner,
        )
        assert (review.restored, review.purchased) == (restored, quantity - restored)
        assert (len(result.restored), len(result.purchased)) == (restored, quantity - restored)
        if result.invoice:
            assert result.invoice.total == review.total  # (a)
            assert result.invoice.subtotal == self.pro_rata(self.now, quantity - restored, code)
        else:
            assert review.total == 0
        self.sync_licences(bought_now=quantity - restored, code=code)
        self.pay_everything()

    @rule(code=st.sampled_from(sorted(PRICES)), quantity=st.integers(1, 2))
    def remove(self, code, quantity):
        try:
            result = licensing_services.licences_schedule_removal(
                organisation=self.org,
                licence_type=licence_type(code),
                quantity=quantity,
                actor=self.owner,
            )
        except DomainError as refused:
            assert refused.code == "not_enough_unassigned_licences"
            return
        assert result.effective_on == self.period_on(self.today()).end
        self.sync_licences()

    @rule(data=st.data())
    def restore(self, data):
        scheduled = sorted(
            Licence.objects.filter(
                organisation=self.org, status=LicenceStatus.REMOVAL_SCHEDULED
            ).values_list("pk", flat=True)
        )
        if not scheduled:
            return
        pk = data.draw(st.sampled_from(scheduled))
        effective = self.licences[pk]["removal_on"] <= self.today()
        try:
            licensing_services.licence_restore(licence=Licence.objects.get(pk=pk), actor=self.owner)
        except DomainError as refused:
            assert effective and refused.code == "removal_already_effective"
        else:
            assert not effective
        self.sync_licences()

    @rule(data=st.data())
    def terminate(self, data):
        active = sorted(
            Licence.objects.filter(
                organisation=self.org,
                status=LicenceStatus.ACTIVE,
                member__isnull=True,
                line__isnull=True,
            ).values_list("pk", flat=True)
        )
        if not active:
            return
        pk = data.draw(st.sampled_from(active))
        licensing_services.licence_terminate(licence=Licence.objects.get(pk=pk), actor=self.owner)
        self.sync_licences()

    @rule(member=st.integers(0, 1))
    def assign_a_number(self, member):
        member = self.members[member]
        preview = numbering_services.number_assign_preview(
            organisation=self.org, member=member, country="FR", number_type="mobile"
        )
        if preview.refusal is not None:
            return
        restored = len(self.restorable("user_standard"))
        result = numbering_services.number_assign(
            organisation=self.org,
            member=member,
            actor=self.owner,
            country="FR",
            number_type="mobile",
        )
        self.numbers.append(result.number)
        if preview.source == "purchase":
            assert result.invoice is not None
            assert result.invoice.total == preview.quote.total  # (a)
            self.sync_licences(bought_now=1, code="user_standard")
            self.pay_everything()
        else:
            assert result.invoice is None
            if preview.source == "restore":
                assert restored
            self.sync_licences()

    # --- charges and usage ------------------------------------------------------------------

    @rule(quantity=st.integers(1, 3))
    def order_devices(self, quantity):
        charge = licensing_services.device_order(
            organisation=self.org,
            device=Device.objects.get(code="ip_desk_phone"),
            quantity=quantity,
            actor=self.owner,
        )
        assert charge.amount == DEVICE_PRICE * quantity
        self.devices.append((self.now, charge.amount))

    @precondition(lambda self: self.numbers)
    @rule(index=st.integers(0, 20), cost=st.decimals("0.01", "3.00", places=2))
    def use_calling_credit(self, index, cost):
        number = self.numbers[index % len(self.numbers)]
        record = usage.usage_record(
            number=number, kind="call", direction="outbound", started_at=self.now, cost=cost
        )
        assert record.period_start == self.period_on(self.today()).start
        self.usage.append((record.period_start, cost))

    # --- (b) ----------------------------------------------------------------------------------

    @invariant()
    def billed_is_what_the_model_says(self):
        invoices = Invoice.objects.filter(organisation=self.org)
        renewals = {i.period_start: i for i in invoices.filter(kind=InvoiceKind.RENEWAL)}
        purchases = list(invoices.filter(kind=InvoiceKind.PURCHASE).order_by("sequence"))
        assert [i.subtotal for i in purchases] == [
            sum(
                (self.pro_rata(at, quantity, code) for code, quantity in bought.items()),
                Decimal("0"),
            )
            for at, bought in self.purchases
        ]
        for invoice in invoices:
            assert invoice.tax == cents(invoice.subtotal * invoice.tax_rate)
            assert invoice.total == invoice.subtotal + invoice.tax
        # Every renewed period, in order, from the first renewal to the last one run.
        self.org.refresh_from_db()
        period = self.period_on(START.date())
        previous_start_at = START - dt.timedelta(days=365)
        while True:
            period = next_period(anchor=START.date(), frequency="monthly", period=period)
            starts_at = local_midnight(period.start, PARIS)
            if starts_at >= self.org.next_renewal_at:
                break
            expected = self.expected_renewal(period, previous_start_at, starts_at)
            invoice = renewals.pop(period.start, None)
            assert (invoice.subtotal if invoice else Decimal("0")) == expected, period
            previous_start_at = starts_at
        assert not renewals  # no invoice for a period not yet renewed
        # Nothing billed twice: every charge and usage record is on at most one invoice, and
        # those of renewed periods are on one.
        assert Charge.objects.filter(organisation=self.org).count() == len(self.devices)
        assert UsageRecord.objects.filter(organisation=self.org).count() == len(self.usage)


def test_billing_over_random_lives_equals_the_independent_computation(db):
    run_state_machine_as_test(
        OrganisationLife,
        settings=settings(
            max_examples=int(__import__("os").environ.get("STATEFUL_EXAMPLES", "25")),
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            # No shrinking: a failure prints its whole sequence of steps, and the suite's time
            # stays bounded (shrinking a long sequence of database steps takes minutes).
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
