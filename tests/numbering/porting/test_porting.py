"""Porting requests (rule 20): proofs, reservation under rules 1-5 and 18, the lifecycle and the
job that moves it, with dates moved by time-machine."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from licensing.models import Licence
from numbering import porting, services
from numbering.carriers import LocalInventoryBackend, PortingUpdate
from numbering.models import (
    InventoryNumber,
    NumberAssignment,
    NumberStatus,
    PhoneNumber,
    PortingEvent,
    PortingRequest,
)
from numbering.selectors import number_holder, numbers_held_by
from telecom import errors
from tests.concurrency import run_concurrently
from tests.factories import LicenceFactory, OrganisationFactory, UserFactory, stock

pytestmark = pytest.mark.django_db
PARIS = dt.timezone(dt.timedelta(hours=1))
MONDAY = dt.datetime(2026, 11, 9, 10, 0, tzinfo=PARIS)  # a Monday
THURSDAY = dt.date(2026, 11, 12)  # three working days later: the earliest porting date
MOBILE, MOBILE_RIO = "+33612345678", "02P000001K9X"
MOBILE_2, MOBILE_2_RIO = "+33755555555", "03E987654GSP"
LANDLINE = "+33123456789"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def org():
    return OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))


@pytest.fixture
def owner(org):
    return UserFactory(organisation=org, role="owner")


@pytest.fixture
def member(org):
    return UserFactory(organisation=org)


def pdf(name="bill.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def request_port(
    org,
    owner,
    member,
    *,
    e164=MOBILE,
    number_type="mobile",
    rio=MOBILE_RIO,
    porting_date=THURSDAY,
    at=MONDAY,
    **kwargs,
):
    return porting.porting_request_create(
        organisation=org,
        actor=owner,
        e164=e164,
        number_type=number_type,
        member=member,
        porting_date=porting_date,
        rio=rio,
        at=at,
        **kwargs,
    )


def field_codes(exc: ValidationError) -> dict[str, list[str]]:
    return {name: [e.code for e in errs] for name, errs in exc.error_dict.items()}


def nothing_created(org, licences_before=0):
    assert not PortingRequest.objects.filter(organisation=org).exists()
    assert not PhoneNumber.objects.filter(organisation=org).exists()
    assert Licence.objects.filter(organisation=org).count() == licences_before


# --- pure rules -------------------------------------------------------------------------------


def test_working_days_skip_weekends():
    assert porting.add_working_days(dt.date(2026, 11, 9), 3) == dt.date(2026, 11, 12)  # Mon→Thu
    assert porting.add_working_days(dt.date(2026, 11, 13), 3) == dt.date(2026, 11, 18)  # Fri→Wed
    assert porting.add_working_days(dt.date(2026, 11, 14), 3) == dt.date(2026, 11, 18)  # Sat→Wed
    assert porting.add_working_days(dt.date(2026, 11, 9), 0) == dt.date(2026, 11, 9)


def test_proofs_by_country_and_type():
    assert porting.porting_proofs("FR", "mobile") == {"rio"}
    assert porting.porting_proofs("FR", "landline") == {"document"}
    assert porting.porting_proofs("GB", "mobile") == {"document"}
    assert porting.porting_proofs("FR", "toll_free") == {"document"}


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF, ("application/pdf", ".pdf")),
        (PNG, ("image/png", ".png")),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", ("image/jpeg", ".jpg")),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", ("image/webp", ".webp")),
        (b"MZ\x90\x00", None),  # an executable
        (b"<html><body>", None),
        (b"PK\x03\x04", None),  # a zip, whatever its name says
    ],
)
def test_document_type_is_read_from_the_content(head, expected):
    assert porting.detect_document_type(head) == expected


# --- creating a request -----------------------------------------------------------------------


def test_french_mobile_with_its_rio_reserves_a_slot(org, owner, member):
    free = LicenceFactory(organisation=org)

    request = request_port(org, owner, member)

    assert request.status == "submitted"
    assert (request.e164, request.country, request.number_type) == (MOBILE, "FR", "mobile")
    assert request.rio == MOBILE_RIO and request.member == member
    assert request.licence == free and request.purchase_invoice is None
    number = request.number
    assert number.status == NumberStatus.PORTING and number.licence == free
    assert number_holder(number) == (member, None)
    assert numbers_held_by(member=member).count() == 1
    assert not NumberAssignment.objects.filter(number=number).exists()  # opens on completion
    free.refresh_from_db()
    assert free.member == member and free.numbers_received == 1
    event = PortingEvent.objects.get(porting_request=request)
    assert (event.from_status, event.to_status, event.actor) == ("", "submitted", owner)
    assert AuditEvent.objects.filter(action="porting.submitted", target_id=str(request.pk)).exists()


def test_rio_is_normalised_before_it_is_stored(org, owner, member):
    request = request_port(org, owner, member, e164="+33 7 55 55 55 55", rio=" 03e 987654 gsp")
    assert (request.e164, request.rio) == (MOBILE_2, MOBILE_2_RIO)


def test_auto_purchase_buys_the_reserved_licence_pro_rata(org, owner, member):
    request = request_port(org, owner, member)

    invoice = request.purchase_invoice
    assert invoice is not None and request.licence.licence_type.code == "user_standard"
    assert invoice.subtotal == Decimal("13.93")  # 19.00 × 22/30 (9 to 30 November)


def test_landline_with_a_document(org, owner, member):
    request = request_port(
        org,
        owner,
        member,
        e164=LANDLINE,
        number_type="landline",
        rio=None,
        document=pdf("Facture Orange.PDF"),
    )

    request.refresh_from_db()
    assert request.rio == "" and request.document_content_type == "application/pdf"
    assert request.document_name == "Facture Orange.PDF" and request.document_size == len(PDF)
    # Stored under the organisation, named after the request, never after the upload.
    assert request.document.name == f"porting/{org.pk}/{request.pk}.pdf"
    with request.document.open("rb") as stored:
        assert stored.read() == PDF


def test_an_image_is_accepted_whatever_its_name(org, owner, member):
    document = SimpleUploadedFile("scan.pdf", PNG, content_type="application/pdf")
    request = request_port(
        org, owner, member, e164=LANDLINE, number_type="landline", rio=None, document=document
    )
    assert request.document_content_type == "image/png"
    assert request.document.name.endswith(".png")


# --- field errors (400) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"e164": "+33 6 12"}, {"e164": ["invalid_number"]}),
        ({"e164": "not a number"}, {"e164": ["invalid_number"]}),
        ({"e164": LANDLINE}, {"e164": ["invalid_number"]}),  # a landline declared as a mobile
        ({"number_type": "fax"}, {"type": ["invalid_choice"]}),
        ({"rio": None}, {"rio": ["rio_required"]}),
        ({"rio": "  "}, {"rio": ["rio_required"]}),
        (
            {"e164": "+33612345670", "rio": "01P12345636Q"},
            {"rio": ["invalid_rio"]},
        ),  # docs/rules.md
        ({"rio": MOBILE_2_RIO}, {"rio": ["invalid_rio"]}),  # another number's RIO
        ({"rio": "02P000001K9"}, {"rio": ["invalid_rio"]}),
        (
            {"e164": LANDLINE, "number_type": "landline", "rio": None},
            {"document": ["document_required"]},
        ),
        ({"porting_date": dt.date(2026, 11, 11)}, {"porting_date": ["porting_date_too_soon"]}),
        ({"porting_date": dt.date(2026, 11, 1)}, {"porting_date": ["porting_date_too_soon"]}),
        ({"porting_date": None}, {"porting_date": ["required"]}),
        (
            {"rio": "01P12345636R", "porting_date": dt.date(2026, 11, 10)},
            {"rio": ["invalid_rio"], "porting_date": ["porting_date_too_soon"]},
        ),
    ],
)
def test_field_errors(org, owner, member, kwargs, expected):
    with pytest.raises(ValidationError) as info:
        request_port(org, owner, member, **kwargs)

    assert field_codes(info.value) == expected
    nothing_created(org)


def test_porting_date_too_soon_counts_working_days(org, owner, member):
    friday = dt.datetime(2026, 11, 13, 16, 0, tzinfo=PARIS)
    with pytest.raises(ValidationError) as info:
        request_port(org, owner, member, at=friday, porting_date=dt.date(2026, 11, 17))
    assert field_codes(info.value) == {"porting_date": ["porting_date_too_soon"]}
    assert "18 Nov 2026" in info.value.error_dict["porting_date"][0].message

    assert (
        request_port(org, owner, member, at=friday, porting_date=dt.date(2026, 11, 18)).status
        == "submitted"
    )


def test_porting_date_setting(org, owner, member, settings):
    settings.PORTING_MIN_WORKING_DAYS = 5
    with pytest.raises(ValidationError):
        request_port(org, owner, member, porting_date=THURSDAY)
    assert request_port(org, owner, member, porting_date=dt.date(2026, 11, 16)).status == (
        "submitted"
    )


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (SimpleUploadedFile("bill.pdf", b"just text, not a PDF"), "invalid_document"),
        (SimpleUploadedFile("bill.pdf", b""), "invalid_document"),
        (SimpleUploadedFile("bill.exe", b"MZ\x90\x00" + b"\x00" * 64), "invalid_document"),
        (SimpleUploadedFile("big.pdf", PDF + b"\x00" * 2048), "document_too_large"),
    ],
)
def test_document_checks(org, owner, member, settings, document, code):
    settings.PORTING_DOCUMENT_MAX_BYTES = 1024

    with pytest.raises(ValidationError) as info:
        request_port(
            org, owner, member, e164=LANDLINE, number_type="landline", rio=None, document=document
        )

    assert field_codes(info.value) == {"document": [code]}
    nothing_created(org)


@pytest.mark.parametrize("deleted", [False, True])
def test_number_already_active_here_or_in_quarantine(org, owner, member, deleted):
    stock("FR", "mobile", 3)
    number = services.number_assign(
        organisation=org, actor=owner, country="FR", number_type="mobile", member=member, at=MONDAY
    ).number
    if deleted:
        services.number_delete(number=number, actor=owner, at=MONDAY)

    with pytest.raises(ValidationError) as info:
        request_port(org, owner, member, e164=number.e164, rio=None)

    assert field_codes(info.value)["e164"] == ["number_already_active"]
    assert not PortingRequest.objects.exists()


def test_number_already_being_ported_by_another_organisation(org, owner, member):
    other = OrganisationFactory()
    other_owner = UserFactory(organisation=other, role="owner")
    request_port(other, other_owner, UserFactory(organisation=other))

    with pytest.raises(ValidationError) as info:
        request_port(org, owner, member)
    assert field_codes(info.value) == {"e164": ["number_already_active"]}
    # Another organisation's request is never revealed (docs/security.md, "Enumeration").
    assert info.value.error_dict["e164"][0].message == "This number is not available."
    assert not PortingRequest.objects.filter(organisation=org).exists()


def test_number_held_by_another_organisation_is_not_available(org, owner, member):
    stock("FR", "mobile", 1)
    other = OrganisationFactory()
    number = services.number_assign(
        organisation=other,
        actor=UserFactory(organisation=other, role="owner"),
        country="FR",
        number_type="mobile",
        member=UserFactory(organisation=other),
        at=MONDAY,
    ).number

    with pytest.raises(ValidationError) as info:
        request_port(org, owner, member, e164=number.e164, rio=None)

    assert field_codes(info.value)["e164"] == ["number_already_active"]
    assert info.value.error_dict["e164"][0].message == "This number is not available."


def test_our_own_open_request_is_named(org, owner, member):
    request_port(org, owner, member)

    with pytest.raises(ValidationError) as info:
        request_port(org, owner, member)

    assert info.value.error_dict["e164"][0].message == (
        "A porting request for this number is already open."
    )


def test_a_number_of_our_own_inventory_is_assigned_not_ported(org, owner, member):
    available = stock("FR", "mobile", 1)[0]
    with pytest.raises(ValidationError) as info:
        request_port(org, owner, member, e164=available, rio=None)
    assert field_codes(info.value)["e164"] == ["number_already_active"]


def test_member_of_another_organisation_or_deactivated(org, owner):
    stranger = UserFactory(organisation=OrganisationFactory())
    with pytest.raises(Licence.DoesNotExist):
        request_port(org, owner, stranger)
    gone = UserFactory(organisation=org, status="deactivated")
    with pytest.raises(ValidationError) as info:
        request_port(org, owner, gone)
    assert field_codes(info.value) == {"member": ["deactivated"]}
    nothing_created(org)


# --- domain errors (409): rules 18, 1, 5 ------------------------------------------------------


def test_restricted_account_cannot_start_porting(owner, member):
    org = member.organisation
    org.payment_method_kind = org.payment_method_reference = ""
    org.save()
    LicenceFactory(organisation=org)

    with pytest.raises(errors.AccountRestricted):
        request_port(org, owner, member)
    nothing_created(org, licences_before=1)


def test_block_policy_reserves_a_free_licence_then_refuses(owner):
    org = OrganisationFactory(licence_policy="block", billing_anchor=dt.date(2026, 1, 1))
    owner = UserFactory(organisation=org, role="owner")
    alice, bob = UserFactory(organisation=org), UserFactory(organisation=org)
    free = LicenceFactory(organisation=org)

    first = request_port(org, owner, alice)
    with pytest.raises(errors.NoLicenceAvailable):
        request_port(org, owner, bob, e164=MOBILE_2, rio=MOBILE_2_RIO)

    assert first.licence == free and first.purchase_invoice is None
    assert Licence.objects.filter(organisation=org).count() == 1
    assert PortingRequest.objects.filter(organisation=org).count() == 1
    assert not numbers_held_by(member=bob).exists()


def test_plan_cap_counts_held_numbers_and_reservations(org, owner, member):
    stock("FR", "mobile", 10)
    for _ in range(4):
        services.number_assign(
            organisation=org,
            actor=owner,
            country="FR",
            number_type="mobile",
            member=member,
            at=MONDAY,
        )

    request_port(org, owner, member)  # the fifth: connect allows 5
    with pytest.raises(errors.PlanNumberLimitReached):
        request_port(org, owner, member, e164=MOBILE_2, rio=MOBILE_2_RIO)
    with pytest.raises(errors.PlanNumberLimitReached):  # the reservation counts for rule 5
        services.number_assign(
            organisation=org,
            actor=owner,
            country="FR",
            number_type="mobile",
            member=member,
            at=MONDAY,
        )
    assert numbers_held_by(member=member).count() == 5


def test_reservation_uses_the_members_licence_with_a_free_slot(org, owner, member):
    multi = LicenceFactory(
        organisation=org,
        member=member,
        licence_type=Licence._meta.get_field("licence_type").related_model.objects.get(
            code="user_multi_mobile"
        ),
    )
    first = request_port(org, owner, member)
    second = request_port(org, owner, member, e164=MOBILE_2, rio=MOBILE_2_RIO)
    assert first.licence == second.licence == multi


# --- the lifecycle, moved by the job ----------------------------------------------------------


def test_lifecycle_by_the_local_carrier(org, owner, member):
    with time_machine.travel(MONDAY, tick=False):
        request = request_port(org, owner, member, at=None)
        assert porting.porting_progress() == 0

    with time_machine.travel(dt.datetime(2026, 11, 10, 0, 30, tzinfo=PARIS), tick=False):
        assert porting.porting_progress() == 1
        assert porting.porting_progress() == 0
    request.refresh_from_db()
    assert request.status == "accepted" and request.confirmed_date == THURSDAY
    assert PhoneNumber.objects.get(pk=request.number_id).status == NumberStatus.PORTING

    with time_machine.travel(dt.datetime(2026, 11, 11, 23, 59, tzinfo=PARIS), tick=False):
        assert porting.porting_progress() == 0
    completed_at = dt.datetime(2026, 11, 12, 0, 5, tzinfo=PARIS)
    with time_machine.travel(completed_at, tick=False):
        assert porting.porting_progress() == 1
        assert porting.porting_progress() == 0

    request.refresh_from_db()
    assert request.status == "completed" and request.closed_at == completed_at
    number = PhoneNumber.objects.get(pk=request.number_id)
    assert number.status == NumberStatus.ASSIGNED and number.assigned_at == completed_at
    assert number.licence_id == request.licence_id
    assert number_holder(number) == (member, None)
    history = NumberAssignment.objects.get(number=number)
    assert (history.member, history.licence_id, history.ended_at) == (
        member,
        request.licence_id,
        None,
    )
    events = list(
        PortingEvent.objects.filter(porting_request=request).values_list(
            "from_status", "to_status", "actor_label"
        )
    )
    assert events == [
        ("", "submitted", str(owner)),
        ("submitted", "accepted", "carrier"),
        ("accepted", "completed", "carrier"),
    ]


def test_a_late_run_applies_both_steps(org, owner, member):
    request = request_port(org, owner, member)

    with time_machine.travel(dt.datetime(2026, 11, 20, 3, 0, tzinfo=PARIS), tick=False):
        assert porting.porting_progress() == 2  # accepted, then completed

    request.refresh_from_db()
    assert request.status == "completed"


def test_completed_number_is_then_an_ordinary_number(org, owner, member):
    request = request_port(org, owner, member)
    porting.porting_progress(at=MONDAY + dt.timedelta(days=5))
    number = PhoneNumber.objects.get(pk=request.number_id)

    services.number_delete(number=number, actor=owner, at=MONDAY + dt.timedelta(days=6))

    number.refresh_from_db()
    assert number.status == NumberStatus.QUARANTINED


def test_staff_accept_with_another_date_then_complete(org, owner, member):
    request = request_port(org, owner, member)
    later = dt.date(2026, 11, 19)

    porting.porting_request_accept(
        porting_request=request, porting_date=later, at=MONDAY + dt.timedelta(hours=2)
    )
    assert porting.porting_progress(at=dt.datetime(2026, 11, 12, 9, 0, tzinfo=PARIS)) == 0
    assert porting.porting_progress(at=dt.datetime(2026, 11, 19, 9, 0, tzinfo=PARIS)) == 1
    request.refresh_from_db()
    assert request.status == "completed"
    with pytest.raises(porting.PortingStatusConflict):
        porting.porting_request_accept(porting_request=request)


# --- rejection and cancellation release the reservation --------------------------------------


@pytest.mark.parametrize("accepted_first", [False, True])
def test_rejection_releases_the_slot(org, owner, member, accepted_first):
    request = request_port(org, owner, member)
    licence = request.licence
    if accepted_first:
        porting.porting_request_accept(porting_request=request)

    porting.porting_request_reject(
        porting_request=request, reason="RIO does not match.", at=MONDAY + dt.timedelta(days=1)
    )

    request.refresh_from_db()
    assert request.status == "rejected" and request.rejection_reason == "RIO does not match."
    number = PhoneNumber.objects.get(pk=request.number_id)
    assert number.status == NumberStatus.RELEASED and number.licence is None
    assert not numbers_held_by(member=member).exists()
    licence.refresh_from_db()
    assert licence.member == member and licence.numbers_received == 0  # the licence stays
    assert licence.number_changes_used == 0
    assert not InventoryNumber.objects.filter(e164=MOBILE).exists()  # never ours to offer
    # The slot is free again, and the number may be asked for again.
    again = request_port(org, owner, member)
    assert again.licence == licence and again.purchase_invoice is None


def test_rejection_needs_a_reason_and_an_open_request(org, owner, member):
    request = request_port(org, owner, member)
    with pytest.raises(ValidationError) as info:
        porting.porting_request_reject(porting_request=request, reason="  ")
    assert field_codes(info.value) == {"rejection_reason": ["required"]}
    porting.porting_request_cancel(porting_request=request, actor=owner)
    with pytest.raises(porting.PortingStatusConflict):
        porting.porting_request_reject(porting_request=request, reason="Too late.")


@pytest.mark.time_machine(MONDAY, tick=False)
@pytest.mark.parametrize("accepted_first", [False, True])
def test_cancel_by_the_organisation_releases_the_slot(org, owner, member, accepted_first):
    request = request_port(org, owner, member)
    if accepted_first:
        porting.porting_request_accept(porting_request=request)

    porting.porting_request_cancel(porting_request=request, actor=owner)

    request.refresh_from_db()
    assert request.status == "cancelled" and request.closed_at is not None
    assert PhoneNumber.objects.get(pk=request.number_id).status == NumberStatus.RELEASED
    assert not numbers_held_by(member=member).exists()
    assert (
        list(
            PortingEvent.objects.filter(porting_request=request).values_list("to_status", flat=True)
        )[-1]
        == "cancelled"
    )
    assert porting.porting_progress(at=MONDAY + dt.timedelta(days=10)) == 0


def test_a_second_reservation_on_a_changed_licence_gives_its_change_back(org, owner, member):
    stock("FR", "mobile", 3)
    first = services.number_assign(
        organisation=org, actor=owner, country="FR", number_type="mobile", member=member, at=MONDAY
    )
    services.number_delete(number=first.number, actor=owner, at=MONDAY)

    request = request_port(org, owner, member)  # the same licence: its second number, a change
    assert request.licence == first.licence and request.counted_as_change
    assert Licence.objects.get(pk=first.licence.pk).number_changes_used == 1

    porting.porting_request_cancel(porting_request=request, actor=owner)
    licence = Licence.objects.get(pk=first.licence.pk)
    assert (licence.numbers_received, licence.number_changes_used) == (1, 0)


@pytest.mark.parametrize("final", ["completed", "rejected", "cancelled"])
def test_porting_not_cancellable_once_closed(org, owner, member, final):
    request = request_port(org, owner, member)
    if final == "completed":
        porting.porting_progress(at=MONDAY + dt.timedelta(days=5))
    elif final == "rejected":
        porting.porting_request_reject(porting_request=request, reason="Unknown subscriber.")
    else:
        porting.porting_request_cancel(porting_request=request, actor=owner)
    events_before = PortingEvent.objects.count()

    with pytest.raises(errors.PortingNotCancellable):
        porting.porting_request_cancel(porting_request=request, actor=owner)

    request.refresh_from_db()
    assert request.status == final and PortingEvent.objects.count() == events_before


# --- the carrier boundary ---------------------------------------------------------------------


class RejectingBackend(LocalInventoryBackend):
    """An operator that refuses every request the day after it is submitted."""

    submitted: list = []
    cancelled: list = []

    def porting_submit(self, *, case):
        RejectingBackend.submitted.append(case.e164)

    def porting_cancel(self, *, case):
        RejectingBackend.cancelled.append(case.e164)

    def porting_check(self, *, case):
        if case.today > case.submitted_on:
            return PortingUpdate(status="rejected", note="The RIO does not match our records.")
        return None


def test_the_job_asks_the_configured_carrier(
    org, owner, member, settings, django_capture_on_commit_callbacks
):
    settings.CARRIER_BACKEND = "tests.numbering.porting.test_porting.RejectingBackend"
    RejectingBackend.submitted, RejectingBackend.cancelled = [], []
    with django_capture_on_commit_callbacks(execute=True):
        request = request_port(org, owner, member)
        other = request_port(org, owner, member, e164=MOBILE_2, rio=MOBILE_2_RIO)
    with django_capture_on_commit_callbacks(execute=True):
        porting.porting_request_cancel(porting_request=other, actor=owner)

    assert porting.porting_progress(at=MONDAY + dt.timedelta(days=1)) == 1

    request.refresh_from_db()
    assert request.status == "rejected"
    assert request.rejection_reason == "The RIO does not match our records."
    assert RejectingBackend.submitted == [MOBILE, MOBILE_2]
    assert RejectingBackend.cancelled == [MOBILE_2]


# --- the document is the organisation's only --------------------------------------------------


def test_document_download_for_the_own_organisation_only(org, owner, member, other_organisation):
    request = request_port(
        org,
        owner,
        member,
        e164=LANDLINE,
        number_type="landline",
        rio=None,
        document=pdf("Facture.pdf"),
    )
    no_document = request_port(org, owner, member)

    document = porting.porting_document_open(organisation=org, porting_request_id=request.pk)
    with document.file:
        assert document.file.read() == PDF
    assert (document.filename, document.content_type, document.size) == (
        "Facture.pdf",
        "application/pdf",
        len(PDF),
    )

    with pytest.raises(PortingRequest.DoesNotExist):
        porting.porting_document_open(
            organisation=other_organisation, porting_request_id=request.pk
        )
    with pytest.raises(ObjectDoesNotExist):
        porting.porting_document_open(organisation=org, porting_request_id=no_document.pk)
    staff_view = porting.porting_document_open(organisation=None, porting_request_id=request.pk)
    staff_view.file.close()


def test_list_is_scoped_to_the_organisation(org, owner, member, other_organisation):
    mine = request_port(org, owner, member)
    theirs = request_port(
        other_organisation,
        UserFactory(organisation=other_organisation),
        UserFactory(organisation=other_organisation),
        e164=MOBILE_2,
        rio=MOBILE_2_RIO,
    )

    assert list(porting.porting_request_list(organisation=org)) == [mine]
    assert list(porting.porting_request_list(organisation=other_organisation)) == [theirs]
    assert [e.to_status for e in porting.porting_events(porting_request=mine)] == ["submitted"]


@pytest.mark.django_db(transaction=True)
def test_two_organisations_porting_one_number_at_once():
    orgs = [OrganisationFactory(billing_anchor=dt.date(2026, 1, 1)) for _ in range(6)]
    people = [(o, UserFactory(organisation=o, role="owner")) for o in orgs]

    results = run_concurrently([lambda o=o, u=u: request_port(o, u, u) for o, u in people])

    outcomes = sorted(type(r).__name__ for r in results)
    assert outcomes == ["PortingRequest"] + ["ValidationError"] * 5
    assert all(
        field_codes(r) == {"e164": ["number_already_active"]}
        for r in results
        if isinstance(r, ValidationError)
    )
    assert PortingRequest.objects.count() == 1
    assert PhoneNumber.objects.filter(e164=MOBILE).count() == 1
    # Only the winner bought a licence: the refusals rolled back with their purchase.
    assert Licence.objects.count() == 1


def test_the_job_looks_at_every_open_request_page_by_page(org, owner):
    members = [UserFactory(organisation=org) for _ in range(5)]
    request_port(org, owner, members[0])
    request_port(org, owner, members[1], e164=MOBILE_2, rio=MOBILE_2_RIO)
    for index, member in enumerate(members[2:]):
        request_port(
            org,
            owner,
            member,
            e164=f"+3312345678{index}",
            number_type="landline",
            rio=None,
            document=pdf(),
        )

    assert porting.porting_progress(at=MONDAY + dt.timedelta(days=1), batch=2) == 5
    assert porting.porting_progress(at=MONDAY + dt.timedelta(days=1), batch=2) == 0
    assert {r.status for r in PortingRequest.objects.all()} == {"accepted"}
