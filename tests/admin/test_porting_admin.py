"""The console's porting requests (rule 20): list, new request with field errors, the request's
page with its transitions and document, cancel; organisation B never reaches A's requests.
"""

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import Invoice
from licensing.models import Licence, LicenceStatus
from numbering import porting
from numbering.models import NumberStatus, PhoneNumber, PortingRequest
from tests.factories import LicenceFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
PARIS = dt.timezone(dt.timedelta(hours=1))
MONDAY = dt.datetime(2026, 11, 9, 10, 0, tzinfo=PARIS)
THURSDAY = dt.date(2026, 11, 12)
MOBILE, MOBILE_RIO = "+33612345678", "02P000001K9X"
LANDLINE = "+33123456789"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def console_with_porting(settings, tmp_path):
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
    return UserFactory(organisation=org, role="user", name="Mia Member")


@pytest.fixture
def console(client, owner):
    client.force_login(owner)
    return client


def url(view, *args):
    return reverse(f"admin:numbering_portingrequest_{view}", args=args)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def landline_request(org, owner, member, e164=LANDLINE):
    return porting.porting_request_create(
        organisation=org,
        actor=owner,
        e164=e164,
        number_type="landline",
        member=member,
        porting_date=THURSDAY,
        document=SimpleUploadedFile("bill.pdf", PDF, "application/pdf"),
    )


def form_data(member, **changes):
    return {
        "e164": MOBILE,
        "type": "mobile",
        "member": str(member.pk),
        "porting_date": THURSDAY.isoformat(),
        "rio": MOBILE_RIO,
        **changes,
    }


def test_new_request_for_a_french_mobile(console, member):
    response = console.post(url("add"), form_data(member, _confirm="1"))

    request = PortingRequest.objects.get()
    assert response.status_code == 302 and response.url == url("change", request.pk)
    assert (request.e164, request.rio, request.member, request.status) == (
        MOBILE,
        MOBILE_RIO,
        member,
        "submitted",
    )
    assert PhoneNumber.objects.get(e164=MOBILE).status == NumberStatus.PORTING


def test_new_request_for_a_landline_with_a_document(console, member):
    """The document is sent once, with the form; the review keeps it for the confirm step."""
    data = form_data(member, e164=LANDLINE, type="landline", rio="")
    review = console.post(
        url("add"), {**data, "document": SimpleUploadedFile("bill.pdf", PDF, "application/pdf")}
    )
    draft = review.context["form"]["document_draft"].value()
    assert review.status_code == 200 and not PortingRequest.objects.exists()

    response = console.post(url("add"), {**data, "document_draft": draft, "_confirm": "1"})

    assert draft.endswith("/bill.pdf")
    assert response.status_code == 302
    request = PortingRequest.objects.get()
    assert request.document_content_type == "application/pdf"
    assert request.document.read() == PDF


def test_a_draft_of_another_organisation_is_never_read(console, member):
    """The kept document is looked up in the organisation's own folder only; a forged token
    finds nothing and the document is asked for again."""
    data = form_data(member, e164=LANDLINE, type="landline", rio="")
    forged = {"document_draft": "../../etc/passwd", "_confirm": "1"}

    response = console.post(url("add"), {**data, **forged})

    assert response.status_code == 200 and not PortingRequest.objects.exists()
    assert list(response.context["form"].errors) == ["document"]


def test_the_review_shows_the_price_before_anything_changes(console, org, member):
    """No free licence: the review says one is bought and what it costs; nothing changes until
    confirmed; the invoice then bills exactly the review's figures, to the cent."""
    review = console.post(url("add"), form_data(member))

    text = review.content.decode()
    quote = review.context["preview"].quote
    assert review.status_code == 200 and 'id="porting-review"' in text
    assert "A licence will be bought" in text and 'id="quote-total"' in text
    assert f"{quote.total} {quote.currency}" in text
    assert not PortingRequest.objects.exists() and not Licence.objects.exists()
    assert not Invoice.objects.exists()

    done = console.post(url("add"), form_data(member, _confirm="1"))

    invoice = Invoice.objects.get()
    assert done.status_code == 302
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        quote.subtotal,
        quote.tax,
        quote.total,
    )
    assert [(line.description, line.amount) for line in invoice.lines.all()] == [
        (line.description, line.amount) for line in quote.lines
    ]
    assert any(
        f"invoice {invoice.number}, total {invoice.total} {invoice.currency}" in m
        for m in messages_of(done)
    )


def test_the_review_says_a_free_licence_is_used(console, org, member):
    LicenceFactory(organisation=org)

    review = console.post(url("add"), form_data(member))

    text = review.content.decode()
    assert review.context["preview"].source == "free"
    assert "Nothing is charged" in text and "A licence will be bought" not in text


def test_the_review_says_a_scheduled_removal_is_restored(console, org, member):
    LicenceFactory(
        organisation=org,
        status=LicenceStatus.REMOVAL_SCHEDULED,
        removal_effective_on=dt.date(2027, 1, 1),
    )

    review = console.post(url("add"), form_data(member))
    done = console.post(url("add"), form_data(member, _confirm="1"))

    assert review.context["preview"].source == "restore"
    assert "scheduled for removal will be restored, no charge" in review.content.decode()
    assert done.status_code == 302 and not Invoice.objects.exists()


def test_the_block_policy_refuses_at_the_review(console, org, member):
    org.licence_policy = "block"
    org.save(update_fields=["licence_policy"])

    review = console.post(url("add"), form_data(member))

    assert review.status_code == 200 and 'id="porting-review"' not in review.content.decode()
    assert any("licence policy" in m for m in messages_of(review))
    assert not PortingRequest.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"rio": ""}, "rio", "rio_required"),
        ({"rio": "02P000001K9A"}, "rio", "invalid_rio"),
        ({"e164": LANDLINE, "type": "landline", "rio": ""}, "document", "document_required"),
        ({"porting_date": "2026-11-11"}, "porting_date", "porting_date_too_soon"),
        ({"e164": "+3361234"}, "e164", "invalid_number"),
    ],
)
def test_field_errors_are_shown_on_the_form(console, member, changes, field, code):
    response = console.post(url("add"), form_data(member, **changes))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert errors.as_data()[field][0].code == code
    assert errors[field][0] and code not in response.content.decode()  # a sentence, no code
    assert not PortingRequest.objects.exists()


def test_the_list_filters_and_searches(console, org, owner, member):
    open_request = landline_request(org, owner, member)
    cancelled = landline_request(org, owner, member, e164="+33123456780")
    porting.porting_request_cancel(porting_request=cancelled, actor=owner)

    everything = console.get(url("changelist")).content.decode()
    submitted = console.get(url("changelist"), {"status__exact": "submitted"})
    searched = console.get(url("changelist"), {"q": "456780"})

    assert LANDLINE in everything and "+33123456780" in everything
    assert list(submitted.context["cl"].result_list) == [open_request]
    assert list(searched.context["cl"].result_list) == [cancelled]


def test_the_request_page_shows_transitions_and_the_document(console, org, owner, member):
    request = landline_request(org, owner, member)
    porting.porting_request_accept(porting_request=request, note="Date confirmed by operator")

    page = console.get(url("change", request.pk))
    document = console.get(url("document", request.pk))

    text = page.content.decode()
    assert page.status_code == 200
    assert "Date confirmed by operator" in text and 'id="porting-events"' in text
    assert [(e.from_status, e.to_status) for e in page.context["events"]] == [
        ("", "submitted"),
        ("submitted", "accepted"),
    ]
    assert url("document", request.pk) in text and url("cancel", request.pk) in text
    assert document.status_code == 200 and document["Content-Type"] == "application/pdf"
    assert b"".join(document.streaming_content) == PDF


def test_cancel_with_confirmation(console, org, owner, member):
    request = landline_request(org, owner, member)

    confirm = console.get(url("cancel", request.pk))
    done = console.post(url("cancel", request.pk))
    again = console.post(url("cancel", request.pk))

    assert confirm.status_code == 200 and 'id="cancel-form"' in confirm.content.decode()
    assert PortingRequest.objects.get().status == "cancelled"
    assert done.status_code == 302 and done.url == url("change", request.pk)
    assert any("it cannot become cancelled" in m for m in messages_of(again))
    assert url("cancel", request.pk) not in console.get(url("change", request.pk)).content.decode()


def test_another_organisation_never_reaches_a_request(client, org, owner, member):
    request = landline_request(org, owner, member)
    other_owner = UserFactory(organisation=OrganisationFactory(), role="owner")
    client.force_login(other_owner)

    listed = client.get(url("changelist")).content.decode()
    pages = [
        client.get(url("change", request.pk)),
        client.get(url("document", request.pk)),
        client.get(url("cancel", request.pk)),
        client.post(url("cancel", request.pk)),
    ]

    assert LANDLINE not in listed
    assert all(p.status_code == 302 and p.url == reverse("admin:index") for p in pages)
    assert PortingRequest.objects.get().status == "submitted"


def test_finance_reads_but_cannot_request_or_cancel(client, org, owner, member):
    request = landline_request(org, owner, member)
    client.force_login(UserFactory(organisation=org, role="finance"))

    assert client.get(url("changelist")).status_code == 200
    assert client.get(url("change", request.pk)).status_code == 200
    assert client.get(url("add")).status_code == 403
    assert client.post(url("add"), form_data(member)).status_code == 403
    assert client.post(url("cancel", request.pk)).status_code == 403
    assert PortingRequest.objects.get().status == "submitted"
