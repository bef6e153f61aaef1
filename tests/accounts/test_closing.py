"""Closing an organisation (rule 19), end to end: the owner asks, platform staff confirm;
numbers into quarantine, licences terminated at the period end (with the final invoice), members
deactivated with their tokens and sessions revoked, invoices kept."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.test import Client

from accounts import closing
from accounts.models import ApiToken, AuditEvent, MemberStatus
from accounts.service_tokens import digest
from billing.models import Commitment, Invoice, InvoiceKind
from billing.renewal import renewals_run
from billing.restriction import organisation_status
from billing.selectors import invoice_list
from licensing import services as licensing_services
from licensing.models import Device, Licence, LicenceStatus
from numbering import porting
from numbering import services as numbering_services
from numbering.models import (
    InventoryNumber,
    NumberAssignment,
    NumberStatus,
    PhoneNumber,
    PortingRequest,
)
from telecom import errors
from tests.factories import (
    LicenceFactory,
    OrganisationFactory,
    StaffFactory,
    UserFactory,
    licence_type,
    renewing_organisation,
    stock,
    token_for,
)

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOV_3 = dt.datetime(2026, 11, 3, 9, 0, tzinfo=PARIS)
NOV_10 = dt.datetime(2026, 11, 10, 12, 0, tzinfo=PARIS)
DEC_1 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=PARIS)  # the period end: the first day without


@pytest.fixture
def org():
    return renewing_organisation()


@pytest.fixture
def owner(org):
    return UserFactory(organisation=org, role="owner")


@pytest.fixture
def busy(org, owner):
    """An organisation with a bit of everything, set up in early November."""
    with time_machine.travel(NOV_3, tick=False):
        stock("FR", "mobile", 10)
        admin = UserFactory(organisation=org, role="admin")
        member = UserFactory(organisation=org)
        LicenceFactory(organisation=org)  # used by the member's first number
        first = numbering_services.number_assign(
            organisation=org, actor=owner, country="FR", number_type="mobile", member=member
        )
        gone = numbering_services.number_assign(
            organisation=org, actor=owner, country="FR", number_type="mobile", member=admin
        )
        numbering_services.number_delete(number=gone.number, actor=owner)  # quarantined already
        request = porting.porting_request_create(
            organisation=org,
            actor=owner,
            e164="+33612345678",
            number_type="mobile",
            member=member,
            porting_date=dt.date(2026, 11, 20),
            rio="02P000001K9X",
        )
        extension = LicenceFactory(
            organisation=org,
            licence_type=licence_type("phone_system"),
            member=owner,
            extension="101",
        )
        addon = LicenceFactory(
            organisation=org, licence_type=licence_type("call_recording"), base_licence=extension
        )
        LicenceFactory(organisation=org)
        scheduled = licensing_services.licences_schedule_removal(
            organisation=org, licence_type=licence_type("user_standard"), quantity=1, actor=owner
        ).licences[0]
        Commitment.objects.create(
            organisation=org,
            licence_type=licence_type("user_standard"),
            quantity=3,
            ends_on=dt.date(2027, 3, 1),
        )
        licensing_services.device_order(
            organisation=org,
            device=Device.objects.get(code="ip_desk_phone"),
            quantity=1,
            actor=owner,
        )
    return {
        "admin": admin,
        "member": member,
        "number": first.number,
        "gone": gone.number,
        "porting": request,
        "extension": extension,
        "addon": addon,
        "scheduled": scheduled,
    }


def test_only_the_owner_asks_and_only_staff_close(org, owner, busy):
    with pytest.raises(PermissionDenied):
        closing.organisation_close_request(organisation=org, actor=busy["admin"])
    with pytest.raises(PermissionDenied):
        closing.organisation_close_request(
            organisation=org, actor=UserFactory(organisation=OrganisationFactory(), role="owner")
        )
    with pytest.raises(closing.CloseNotRequested):
        closing.organisation_close(organisation=org, actor=StaffFactory())

    asked = closing.organisation_close_request(organisation=org, actor=owner, at=NOV_10)
    again = closing.organisation_close_request(
        organisation=org, actor=owner, at=NOV_10 + dt.timedelta(hours=1)
    )

    assert asked.close_requested_at == again.close_requested_at == NOV_10
    assert AuditEvent.objects.filter(action="organisation.close_requested").count() == 1
    with pytest.raises(PermissionDenied):
        closing.organisation_close(organisation=org, actor=owner)
    org.refresh_from_db()
    assert org.closed_at is None
    assert status_of(busy["member"]) == MemberStatus.ACTIVE


def status_of(user):
    user.refresh_from_db()
    return user.status


def test_closing_end_to_end(org, owner, busy, other_owner):
    member, admin = busy["member"], busy["admin"]
    tokens = [token_for(u) for u in (owner, admin, member, other_owner)]
    for user in (member, other_owner):
        Client().force_login(user)
    invoices_before = list(Invoice.objects.filter(organisation=org).values_list("pk", flat=True))
    gone_ends_on = PhoneNumber.objects.get(pk=busy["gone"].pk).quarantine_ends_on
    closing.organisation_close_request(organisation=org, actor=owner, at=NOV_10)

    result = closing.organisation_close(organisation=org, actor=StaffFactory(), at=NOV_10)

    # Numbers: the held one into quarantine for 30 days, the earlier one keeps its date.
    assert (result.numbers_quarantined, result.porting_cancelled) == (1, 1)
    number = PhoneNumber.objects.get(pk=busy["number"].pk)
    assert (number.status, number.licence, number.quarantine_ends_on) == (
        NumberStatus.QUARANTINED,
        None,
        dt.date(2026, 12, 10),
    )
    assert not NumberAssignment.objects.filter(organisation=org, ended_at__isnull=True).exists()
    assert PhoneNumber.objects.get(pk=busy["gone"].pk).quarantine_ends_on == gone_ends_on
    # The porting request is cancelled and its reservation released.
    request = PortingRequest.objects.get(pk=busy["porting"].pk)
    assert request.status == "cancelled"
    assert PhoneNumber.objects.get(pk=request.number_id).status == NumberStatus.RELEASED
    assert not PhoneNumber.objects.filter(
        organisation=org, status__in=("assigned", "porting")
    ).exists()
    # Licences: every one scheduled for the period end, unassigned and detached.
    assert result.removal_effective_on == dt.date(2026, 12, 1)
    assert result.licences_scheduled == 5  # and one scheduled before
    licences = Licence.objects.filter(organisation=org)
    assert set(licences.values_list("status", flat=True)) == {LicenceStatus.REMOVAL_SCHEDULED}
    assert set(licences.values_list("removal_effective_on", flat=True)) == {dt.date(2026, 12, 1)}
    assert not licences.filter(member__isnull=False).exists()
    assert not licences.filter(base_licence__isnull=False).exists()
    assert not licences.filter(extension__isnull=False).exists()
    # Members: deactivated, tokens and sessions gone; another organisation untouched.
    assert result.members_deactivated == 3 and result.sessions_revoked == 1
    assert {status_of(u) for u in (owner, admin, member)} == {MemberStatus.DEACTIVATED}
    assert list(ApiToken.objects.values_list("key_digest", flat=True)) == [digest(tokens[3])]
    sessions = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert sessions == [str(other_owner.pk)]
    # The organisation is closed; its invoices are kept and readable.
    org.refresh_from_db()
    assert org.closed_at == NOV_10 and organisation_status(org) == "closed"
    assert list(invoice_list(organisation=org).values_list("pk", flat=True)) == invoices_before
    assert AuditEvent.objects.filter(organisation=org, action="organisation.closed").exists()
    # Nothing new can start.
    with pytest.raises(errors.AccountRestricted):
        numbering_services.number_assign(
            organisation=org,
            actor=StaffFactory(),
            country="FR",
            number_type="mobile",
            member=UserFactory(organisation=org),
        )
    with pytest.raises(closing.OrganisationClosed):
        closing.organisation_close(organisation=org, actor=StaffFactory())
    with pytest.raises(PermissionDenied):  # the owner is deactivated too
        closing.organisation_close_request(organisation=org, actor=owner)


def test_period_end_terminates_the_licences_and_issues_the_final_invoice(org, owner, busy):
    closing.organisation_close_request(organisation=org, actor=owner, at=NOV_10)
    closing.organisation_close(organisation=org, actor=StaffFactory(), at=NOV_10)

    assert renewals_run(at=DEC_1) == 0  # the renewal job skips closed organisations
    assert closing.organisations_finish_closing(at=DEC_1 - dt.timedelta(minutes=1)) == 0
    assert closing.organisations_finish_closing(at=DEC_1) == 1
    assert closing.organisations_finish_closing(at=DEC_1) == 0
    assert closing.organisations_finish_closing(at=DEC_1 + dt.timedelta(days=62)) == 0

    licences = Licence.objects.filter(organisation=org)
    assert set(licences.values_list("status", flat=True)) == {LicenceStatus.TERMINATED}
    assert set(licences.values_list("terminated_on", flat=True)) == {dt.date(2026, 12, 1)}
    [final] = Invoice.objects.filter(organisation=org, kind=InvoiceKind.RENEWAL)
    lines = {(line.kind, line.quantity, line.amount) for line in final.lines.all()}
    # Nothing renewed; owed: the commitment's fee (3 licences below it × 19.00 × 3 months to
    # March) and the desk phone ordered in November.
    assert lines == {("termination_fee", 3, Decimal("171.00")), ("device", 1, Decimal("129.00"))}
    assert (final.subtotal, final.tax, final.total) == (
        Decimal("300.00"),
        Decimal("60.00"),
        Decimal("360.00"),
    )


def test_quarantined_numbers_of_a_closed_organisation_return_to_the_inventory(org, owner, busy):
    closing.organisation_close_request(organisation=org, actor=owner, at=NOV_10)
    closing.organisation_close(organisation=org, actor=StaffFactory(), at=NOV_10)
    e164 = busy["number"].e164

    assert (
        numbering_services.numbers_release_quarantined(
            at=dt.datetime(2026, 12, 10, 1, 0, tzinfo=PARIS)
        )
        == 2
    )
    assert InventoryNumber.objects.filter(e164__in=[e164, busy["gone"].e164]).count() == 2


def test_a_closed_organisation_without_anything_owed_gets_no_final_invoice(org, owner):
    LicenceFactory(organisation=org, member=owner)
    closing.organisation_close_request(organisation=org, actor=owner, at=NOV_10)
    closing.organisation_close(organisation=org, actor=StaffFactory(), at=NOV_10)

    assert closing.organisations_finish_closing(at=DEC_1) == 1

    assert not Invoice.objects.filter(organisation=org).exists()
    assert Licence.objects.get(organisation=org).status == LicenceStatus.TERMINATED
