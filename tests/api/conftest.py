"""Fixtures for the API tests: a populated organisation A and a helper to snapshot the state."""

import datetime as dt

import pytest
from django.core.cache import cache

from accounts.models import AuditEvent, Organisation, User
from billing.models import (
    Charge,
    CreditNote,
    Invoice,
    LocalProviderCharge,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    UsageCounter,
    UsageRecord,
)
from billing.payments.methods import payment_method_add_card
from licensing import services as licensing_services
from licensing.models import Licence, Line
from numbering.models import PhoneNumber, PortingRequest
from numbering.services import number_assign
from tests.factories import LicenceFactory, LineFactory, licence_type, stock


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org_a(organisation, owner, admin_member, finance_member, user_member):
    """Organisation A with a member of every role, a line, licences, add-ons and an invoice."""
    return build_org_a(organisation, owner, admin_member, finance_member, user_member)


def build_org_a(organisation, owner, admin_member, finance_member, user_member) -> dict:
    """`org_a`'s rows around its organisation and members (also built once for a module)."""
    line = LineFactory(organisation=organisation, name="Reception A-secret")
    assigned = LicenceFactory(organisation=organisation, member=user_member)
    free = LicenceFactory(organisation=organisation)
    phone = LicenceFactory(
        organisation=organisation,
        licence_type=licence_type("phone_system"),
        member=admin_member,
        extension="101",
    )
    addon = LicenceFactory(
        organisation=organisation,
        licence_type=licence_type("call_recording"),
        base_licence=assigned,
    )
    scheduled = LicenceFactory(
        organisation=organisation,
        status="removal_scheduled",
        removal_effective_on=dt.date.today() + dt.timedelta(days=10),
    )
    stock("FR", "mobile", 3)
    number = number_assign(
        organisation=organisation,
        actor=owner,
        country="FR",
        number_type="mobile",
        member=user_member,
    ).number
    result = licensing_services.licences_purchase(
        organisation=organisation,
        licence_type=licence_type("room_phone"),
        quantity=1,
        actor=owner,
    )
    # A card charged by default and a spare one (the local provider's card that always succeeds).
    for _ in range(2):
        spare = payment_method_add_card(
            organisation=organisation,
            actor=owner,
            number="4242424242424242",
            exp_month=12,
            exp_year=dt.date.today().year + 2,
        )
    return {
        "organisation": organisation,
        "owner": owner,
        "spare_method": spare,
        "admin": admin_member,
        "finance": finance_member,
        "user": user_member,
        "line": line,
        "assigned": assigned,
        "free": free,
        "phone": phone,
        "addon": addon,
        "scheduled": scheduled,
        "bought": result.purchased[0],
        "invoice": result.invoice,
        "number": number,
    }


def db_state() -> dict:
    """Everything a write endpoint could change: a refused request must leave it equal."""
    return {
        "organisations": list(Organisation.objects.order_by("pk").values()),
        "users": list(
            User.objects.order_by("pk").values(
                "pk", "email", "name", "role", "status", "organisation"
            )
        ),
        "licences": list(Licence.objects.order_by("pk").values()),
        "lines": list(Line.objects.order_by("pk").values()),
        "numbers": list(PhoneNumber.objects.order_by("pk").values()),
        "invoices": list(Invoice.objects.order_by("pk").values("pk", "status", "total")),
        "payments": list(Payment.objects.order_by("pk").values()),
        "credit_notes": list(CreditNote.objects.order_by("pk").values()),
        "payment_methods": list(PaymentMethod.objects.order_by("pk").values()),
        "payment_attempts": list(PaymentAttempt.objects.order_by("pk").values()),
        "provider_charges": LocalProviderCharge.objects.count(),
        "charges": list(Charge.objects.order_by("pk").values()),
        "usage": list(UsageRecord.objects.order_by("pk").values()),
        "usage_counters": list(UsageCounter.objects.order_by("pk").values()),
        "porting": list(PortingRequest.objects.order_by("pk").values()),
        "audit_events": AuditEvent.objects.count(),
    }


@pytest.fixture
def state():
    return db_state
