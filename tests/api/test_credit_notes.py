"""The credit-note routes (docs/api.md, "Credit notes"): staff issue, customers read; bad input is
400/404/409 with a code and changes nothing; another organisation's ids are 404."""

from decimal import Decimal

import pytest

from billing.credit_notes import credit_note_issue
from billing.models import CreditNote, InvoiceStatus

pytestmark = pytest.mark.django_db

ROLES = ("owner", "admin", "finance", "user")


def post(client, invoice, body, preview=False):
    path = f"/api/v1/invoices/{invoice.pk}/credit-notes/" + ("preview/" if preview else "")
    return client.post(path, body, format="json")


def test_staff_issue_a_partial_then_a_full_credit_note(api_client_for, org_a, staff, state):
    invoice = org_a["invoice"]
    client = api_client_for(staff)
    half = (invoice.subtotal / 2).quantize(Decimal("0.01"))
    before = state()
    preview = post(client, invoice, {"amount": str(half), "reason": "goodwill"}, preview=True)
    assert preview.status_code == 200 and state() == before
    response = post(client, invoice, {"amount": str(half), "reason": "goodwill"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["total"], body["invoice_number"]) == (preview.json()["total"], invoice.number)
    assert body["number"].endswith("-CN-000001")
    detail = client.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert Decimal(detail["amount_due"]) == Decimal(preview.json()["due_after"])

    full = post(client, invoice, {"whole": True, "reason": "cancelled"})
    assert full.status_code == 201
    assert Decimal(body["total"]) + Decimal(full.json()["total"]) == invoice.total
    detail = client.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert (detail["status"], detail["amount_due"]) == (InvoiceStatus.CREDITED, "0.00")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"amount": "999999.00", "reason": "x"}, 409, "credit_exceeds_invoice", None),
        ({"amount": "0.00", "reason": "x"}, 400, "invalid", "amount"),
        ({"amount": "-1.00", "reason": "x"}, 400, "invalid", "amount"),
        ({"lines": [{"position": 99}], "reason": "x"}, 400, "invalid", "lines"),
        ({"whole": True}, 400, "invalid", "reason"),
        ({"whole": True, "amount": "1.00", "reason": "x"}, 400, "invalid", None),
        ({"whole": True, "reason": "x", "status": "paid"}, 400, "invalid", "status"),
    ],
)
def test_bad_credit_notes_are_refused_with_a_code(
    api_client_for, org_a, staff, state, body, status, code, field
):
    before = state()
    response = post(api_client_for(staff), org_a["invoice"], body)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    if field:
        assert field in response.json()["fields"]
    assert state() == before


def test_a_credit_note_for_more_than_is_left_after_a_first_one_is_a_409(
    api_client_for, org_a, staff, state
):
    invoice = org_a["invoice"]
    client = api_client_for(staff)
    assert post(client, invoice, {"amount": "1.00", "reason": "x"}).status_code == 201
    before = state()
    response = post(client, invoice, {"amount": str(invoice.subtotal), "reason": "x"})
    assert (response.status_code, response.json()["code"]) == (409, "credit_exceeds_invoice")
    assert state() == before


@pytest.mark.parametrize("role", [*ROLES])
def test_another_organisations_invoice_is_a_404_for_every_role(
    api_client_for, org_a, other_owner, role, state
):
    from tests.factories import UserFactory

    attacker = (
        other_owner
        if role == "owner"
        else UserFactory(organisation=other_owner.organisation, role=role)
    )
    before = state()
    for preview in (False, True):
        response = post(
            api_client_for(attacker), org_a["invoice"], {"whole": True, "reason": "x"}, preview
        )
        assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("role", ROLES)
def test_customer_roles_are_refused_on_their_own_invoice(api_client_for, org_a, role, state):
    before = state()
    for preview in (False, True):
        response = post(
            api_client_for(org_a[role]), org_a["invoice"], {"whole": True, "reason": "x"}, preview
        )
        assert response.status_code == 403
    assert state() == before


@pytest.mark.parametrize("role", ROLES)
def test_customers_read_their_credit_notes_pdf_and_csv(api_client_for, org_a, other_owner, role):
    note = credit_note_issue(invoice=org_a["invoice"], actor=None, reason="all", whole=True)
    other = credit_note_issue(
        invoice=_invoice_of(other_owner), actor=None, reason="theirs", whole=True
    )
    client = api_client_for(org_a[role])
    listing = client.get("/api/v1/credit-notes/")
    if role == "user":
        assert listing.status_code == 403
        assert client.get(f"/api/v1/credit-notes/{note.pk}/pdf/").status_code == 403
        return
    assert [row["number"] for row in listing.json()["results"]] == [note.number]
    assert client.get(f"/api/v1/credit-notes/{note.pk}/").json()["total"] == f"{note.total:.2f}"
    pdf = client.get(f"/api/v1/credit-notes/{note.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    csv = client.get(f"/api/v1/credit-notes/{note.pk}/csv/")
    assert csv.status_code == 200 and f"-{note.total:.2f}" in csv.content.decode()
    for route in ("", "pdf/", "csv/"):
        assert client.get(f"/api/v1/credit-notes/{other.pk}/{route}").status_code == 404


def _invoice_of(owner):
    from billing.quotes import Quote, QuoteLine
    from billing.services import invoice_issue

    quote = Quote(
        currency="EUR",
        tax_rate=Decimal("0.2000"),
        lines=[QuoteLine("Theirs", "licence", 1, Decimal("10.00"), Decimal("10.00"))],
    )
    return invoice_issue(organisation=owner.organisation, kind="purchase", quote=quote, actor=None)


def test_credit_notes_are_listed_newest_first_and_never_changed_through_the_api(
    api_client_for, org_a, staff
):
    note = credit_note_issue(invoice=org_a["invoice"], actor=None, reason="all", whole=True)
    client = api_client_for(staff)
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"/api/v1/credit-notes/{note.pk}/", {}, format="json")
        assert response.status_code == 405
    assert CreditNote.objects.get(pk=note.pk).reason == "all"
