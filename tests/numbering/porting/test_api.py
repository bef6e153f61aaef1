"""API.md "Porting": shapes, statuses and codes of /api/v1/porting-requests/ (rule 20)."""

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from numbering.models import NumberStatus, PhoneNumber, PortingRequest
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
PARIS = dt.timezone(dt.timedelta(hours=1))
MONDAY = dt.datetime(2026, 11, 9, 10, 0, tzinfo=PARIS)
THURSDAY = "2026-11-12"  # three working days after MONDAY: the earliest porting date
MOBILE, MOBILE_RIO = "+33612345678", "02P000001K9X"
LANDLINE = "+33123456789"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
URL = "/api/v1/porting-requests/"
FIELDS = {
    "id",
    "e164",
    "type",
    "member",
    "porting_date",
    "rio",
    "status",
    "rejection_reason",
    "licence",
    "created_at",
}


@pytest.fixture(autouse=True)
def monday(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with time_machine.travel(MONDAY, tick=False):
        yield


@pytest.fixture
def org():
    return OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))


@pytest.fixture
def owner(org):
    return UserFactory(organisation=org, role="owner")


@pytest.fixture
def member(org):
    return UserFactory(organisation=org, role="user")


@pytest.fixture
def client(api_client_for, owner):
    return api_client_for(owner)


def pdf(name="bill.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def mobile_body(member, **changes):
    return {
        "e164": MOBILE,
        "type": "mobile",
        "member": str(member.pk),
        "porting_date": THURSDAY,
        "rio": MOBILE_RIO,
        **changes,
    }


def landline_body(member, **changes):
    return {
        "e164": LANDLINE,
        "type": "landline",
        "member": str(member.pk),
        "porting_date": THURSDAY,
        "document": pdf(),
        **changes,
    }


def field_codes(response) -> dict[str, list[str]]:
    body = response.json()
    assert body["code"] == "invalid"
    return {field: [e["code"] for e in errors] for field, errors in body["fields"].items()}


def nothing_created():
    assert not PortingRequest.objects.exists()
    assert not PhoneNumber.objects.exists()


# --- create -----------------------------------------------------------------------------------


def test_a_french_mobile_with_its_rio(client, member):
    response = client.post(URL, mobile_body(member, rio="02p 000001 k9x"), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == FIELDS
    request = PortingRequest.objects.get()
    assert body == {
        "id": str(request.pk),
        "e164": MOBILE,
        "type": "mobile",
        "member": str(member.pk),
        "porting_date": THURSDAY,
        "rio": MOBILE_RIO,
        "status": "submitted",
        "rejection_reason": "",
        "licence": str(request.licence_id),
        "created_at": body["created_at"],
    }
    assert request.licence.member == member
    assert PhoneNumber.objects.get(e164=MOBILE).status == NumberStatus.PORTING


def test_a_landline_with_a_pdf_document_multipart(client, member):
    response = client.post(URL, landline_body(member), format="multipart")

    assert response.status_code == 201, response.content
    assert (response.json()["type"], response.json()["rio"]) == ("landline", "")
    request = PortingRequest.objects.get()
    assert request.document_content_type == "application/pdf"
    assert request.document.read() == PDF


@pytest.mark.parametrize(
    ("body", "fmt", "expected"),
    [
        (lambda m: mobile_body(m, rio=""), "json", {"rio": ["rio_required"]}),
        (lambda m: mobile_body(m, rio="02P000001K9A"), "json", {"rio": ["invalid_rio"]}),
        (lambda m: landline_body(m, document=None), "json", {"document": ["document_required"]}),
        (
            lambda m: mobile_body(m, porting_date="2026-11-11"),
            "json",
            {"porting_date": ["porting_date_too_soon"]},
        ),
        (lambda m: mobile_body(m, e164="+3361234"), "json", {"e164": ["invalid_number"]}),
        (
            lambda m: landline_body(m, document=pdf("bill.pdf", b"MZ not a pdf")),
            "multipart",
            {"document": ["invalid_document"]},
        ),
        (lambda m: mobile_body(m, type="fax"), "json", {"type": ["invalid_choice"]}),
        (lambda m: mobile_body(m, porting_date="soon"), "json", {"porting_date": ["invalid"]}),
        (
            lambda m: mobile_body(m, porting_date="9999-12-31"),
            "json",
            {"porting_date": ["out_of_range"]},
        ),
        (
            lambda m: mobile_body(m, porting_date="2027-11-13"),  # a year and a day after Thursday
            "json",
            {"porting_date": ["out_of_range"]},
        ),
    ],
    ids=[
        "rio_required",
        "invalid_rio",
        "document_required",
        "porting_date_too_soon",
        "invalid_number",
        "invalid_document",
        "bad_type",
        "bad_date",
        "year_9999",
        "more_than_a_year_ahead",
    ],
)
def test_field_errors_are_400_with_their_codes(client, member, body, fmt, expected):
    data = body(member)
    if fmt == "json":
        data = {k: v for k, v in data.items() if v is not None}

    response = client.post(URL, data, format=fmt)

    assert response.status_code == 400, response.content
    assert field_codes(response) == expected
    nothing_created()


def test_number_already_active(client, member):
    assert client.post(URL, mobile_body(member), format="json").status_code == 201

    response = client.post(URL, mobile_body(member), format="json")

    assert response.status_code == 400
    assert field_codes(response) == {"e164": ["number_already_active"]}
    assert PortingRequest.objects.count() == 1


def test_a_member_of_another_organisation_is_a_400(client, api_client_for):
    stranger = UserFactory(organisation=OrganisationFactory(), role="user")

    response = client.post(URL, mobile_body(stranger), format="json")

    assert response.status_code == 400
    assert field_codes(response) == {"member": ["does_not_exist"]}
    nothing_created()


def test_a_restricted_account_is_a_409(client, member, org):
    org.payment_method_kind = ""
    org.payment_method_reference = ""
    org.save()

    response = client.post(URL, mobile_body(member), format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "account_restricted"
    nothing_created()


@pytest.mark.parametrize("role", ["finance", "user"])
def test_finance_and_users_cannot_request(api_client_for, org, member, role):
    caller = UserFactory(organisation=org, role=role)

    response = api_client_for(caller).post(URL, mobile_body(member), format="json")

    assert response.status_code == 403
    nothing_created()


# --- read -------------------------------------------------------------------------------------


def test_list_detail_and_status_filter(client, member, api_client_for, org):
    mobile = client.post(URL, mobile_body(member), format="json").json()
    landline = client.post(URL, landline_body(member), format="multipart").json()
    client.post(f"{URL}{landline['id']}/cancel/")

    listed = client.get(URL).json()
    submitted = client.get(f"{URL}?status=submitted").json()
    detail = client.get(f"{URL}{mobile['id']}/")
    bad = client.get(f"{URL}?status=nope")

    assert listed["count"] == 2 and {r["id"] for r in listed["results"]} == {
        mobile["id"],
        landline["id"],
    }
    assert [r["id"] for r in submitted["results"]] == [mobile["id"]]
    assert detail.status_code == 200 and detail.json() == mobile
    assert bad.status_code == 400 and "status" in bad.json()["fields"]
    # An end user sees their own requests only; finance sees all.
    other = UserFactory(organisation=org, role="user")
    assert api_client_for(member).get(URL).json()["count"] == 2
    assert api_client_for(other).get(URL).json()["count"] == 0
    finance = UserFactory(organisation=org, role="finance")
    assert api_client_for(finance).get(URL).json()["count"] == 2


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_releases_the_reservation(client, member):
    created = client.post(URL, mobile_body(member), format="json").json()

    response = client.post(f"{URL}{created['id']}/cancel/")

    assert response.status_code == 200
    assert response.json() == {**created, "status": "cancelled"}
    assert PhoneNumber.objects.get(e164=MOBILE).status == NumberStatus.RELEASED


def test_a_closed_request_is_not_cancellable(client, member):
    created = client.post(URL, mobile_body(member), format="json").json()
    client.post(f"{URL}{created['id']}/cancel/")

    response = client.post(f"{URL}{created['id']}/cancel/")

    assert response.status_code == 409
    assert response.json()["code"] == "porting_not_cancellable"


def test_users_cannot_cancel(client, member, api_client_for):
    created = client.post(URL, mobile_body(member), format="json").json()

    response = api_client_for(member).post(f"{URL}{created['id']}/cancel/")

    assert response.status_code == 403
    assert PortingRequest.objects.get().status == "submitted"


# --- document ---------------------------------------------------------------------------------


def test_the_document_is_downloadable_by_the_organisation_only(client, member, api_client_for):
    created = client.post(URL, landline_body(member), format="multipart").json()
    other_owner = UserFactory(organisation=OrganisationFactory(), role="owner")

    mine = client.get(f"{URL}{created['id']}/document/")
    theirs = api_client_for(other_owner).get(f"{URL}{created['id']}/document/")
    theirs_detail = api_client_for(other_owner).get(f"{URL}{created['id']}/")

    assert mine.status_code == 200
    assert mine["Content-Type"] == "application/pdf"
    assert 'filename="bill.pdf"' in mine["Content-Disposition"]
    assert b"".join(mine.streaming_content) == PDF
    assert theirs.status_code == 404 and theirs.json() == {
        "code": "not_found",
        "detail": "Not found.",
    }
    assert theirs_detail.status_code == 404


def test_a_request_without_a_document_has_none_to_download(client, member):
    created = client.post(URL, mobile_body(member), format="json").json()

    response = client.get(f"{URL}{created['id']}/document/")

    assert response.status_code == 404
