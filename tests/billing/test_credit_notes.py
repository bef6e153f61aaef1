"""Credit notes (issue 16, docs/rules.md "Credit notes"): exact amounts for a partial and a full
credit note and the amount due after each, the numbering, the CSV sums, the Factur-X 381, and
the API's bad input, tenancy and roles."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, InternalError, transaction
from facturx import get_facturx_xml_from_pdf, xml_check_xsd
from lxml import etree

from accounts.models import AuditEvent
from billing.credit_notes import credit_note_issue, credit_note_preview, invoice_reissue
from billing.exports import invoice_lines_csv
from billing.models import CreditNote, CreditNoteLine, Invoice, InvoiceStatus, Payment
from billing.pdf import credit_note_pdf
from billing.quotes import Quote, QuoteLine
from billing.selectors import invoice_amount_due
from billing.services import invoice_issue, invoice_record_payment
from telecom.errors import CreditExceedsInvoice
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 3, 9, 12, tzinfo=dt.UTC)


def quote_line(description, quantity, unit_price):
    unit_price = Decimal(unit_price)
    return QuoteLine(
        description=description,
        kind="licence",
        quantity=quantity,
        unit_price=unit_price,
        amount=unit_price * quantity,
    )


def issue(organisation) -> Invoice:
    """Two lines: 3 × 25.00 and 1 × 99.00 = 174.00, VAT 20 % 34.80, total 208.80 EUR."""
    quote = Quote(
        currency="EUR",
        tax_rate=Decimal("0.2000"),
        lines=[
            quote_line("Phone system licence", 3, "25.00"),
            quote_line("Wrong line", 1, "99.00"),
        ],
    )
    return invoice_issue(organisation=organisation, kind="purchase", quote=quote, actor=None, at=AT)


@pytest.fixture
def org():
    return OrganisationFactory(name="Crédit SA", tax_rate=Decimal("0.2000"))


@pytest.fixture
def invoice(org):
    return issue(org)


def state():
    return (
        CreditNote.objects.count(),
        CreditNoteLine.objects.count(),
        sorted(Invoice.objects.values_list("number", "status")),
        Payment.objects.count(),
        AuditEvent.objects.count(),
    )


# --- amounts -----------------------------------------------------------------------------------


def test_a_partial_then_a_full_credit_note_and_the_amount_due(org, invoice):
    assert invoice_amount_due(invoice) == Decimal("208.80")

    partial = credit_note_issue(
        invoice=invoice, actor=None, reason="wrong line", lines=[{"position": 2}], at=LATER
    )

    assert partial.number == f"{org.invoice_prefix}-CN-000001"
    assert (partial.subtotal, partial.tax, partial.total) == (
        Decimal("99.00"),
        Decimal("19.80"),
        Decimal("118.80"),
    )
    assert [(line.description, line.quantity, line.amount) for line in partial.lines.all()] == [
        ("Wrong line", 1, Decimal("99.00"))
    ]
    assert partial.lines.get().invoice_line.position == 2
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED
    assert invoice_amount_due(invoice) == Decimal("90.00")
    assert partial.issued_on == dt.date(2026, 3, 9) and partial.tax_rate == invoice.tax_rate

    rest = credit_note_issue(invoice=invoice, actor=None, reason="cancelled", whole=True, at=LATER)

    assert rest.number == f"{org.invoice_prefix}-CN-000002"
    assert (rest.subtotal, rest.tax, rest.total) == (
        Decimal("75.00"),
        Decimal("15.00"),
        Decimal("90.00"),
    )
    assert [line.description for line in rest.lines.all()] == [
        f"Balance of invoice {invoice.number}"
    ]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CREDITED
    assert invoice_amount_due(invoice) == Decimal("0.00")


def test_an_amount_credit_rounds_its_tax_and_the_last_one_takes_exactly_what_is_left(invoice):
    first = credit_note_issue(
        invoice=invoice, actor=None, reason="goodwill", amount=Decimal("0.05")
    )
    assert (first.subtotal, first.tax, first.total) == (
        Decimal("0.05"),
        Decimal("0.01"),
        Decimal("0.06"),
    )
    assert invoice_amount_due(invoice) == Decimal("208.74")
    last = credit_note_issue(invoice=invoice, actor=None, reason="all", amount=Decimal("173.95"))
    assert (last.subtotal, last.tax, last.total) == (
        Decimal("173.95"),
        Decimal("34.79"),
        Decimal("208.74"),
    )
    assert first.total + last.total == invoice.total
    assert invoice_amount_due(invoice) == Decimal("0.00")


def test_the_preview_equals_the_credit_note(invoice):
    preview = credit_note_preview(
        invoice=invoice, reason="two licences", lines=[{"position": 1, "amount": Decimal("25.00")}]
    )
    note = credit_note_issue(
        invoice=invoice,
        actor=None,
        reason="two licences",
        lines=[{"position": 1, "amount": Decimal("25.00")}],
    )
    assert (preview.subtotal, preview.tax, preview.total) == (note.subtotal, note.tax, note.total)
    assert (preview.due_before, preview.due_after) == (Decimal("208.80"), Decimal("178.80"))
    assert invoice_amount_due(invoice) == preview.due_after


def test_a_payment_after_a_partial_credit_is_the_amount_due(invoice):
    credit_note_issue(invoice=invoice, actor=None, reason="goodwill", amount=Decimal("10.00"))
    invoice_record_payment(invoice=invoice, actor=None, method="transfer", reference="VIR-1")
    assert Payment.objects.get(invoice=invoice).amount == Decimal("196.80")
    assert invoice_amount_due(invoice) == Decimal("0.00")


def test_credit_and_reissue_keeps_both_links(org, invoice):
    corrected = invoice_reissue(
        invoice=invoice,
        actor=None,
        reason="two licences, not three",
        quote=Quote(
            currency="EUR", tax_rate=Decimal("0.2000"), lines=[quote_line("Licence", 2, "25.00")]
        ),
    )
    invoice.refresh_from_db()
    note = invoice.credit_notes.get()
    assert (invoice.status, note.total, corrected.replaces, invoice.replaced_by) == (
        InvoiceStatus.CREDITED,
        Decimal("208.80"),
        invoice,
        corrected,
    )
    assert corrected.total == Decimal("60.00") and invoice_amount_due(corrected) == Decimal("60.00")


# --- bad input: clear refusals, nothing changed ------------------------------------------------


@pytest.mark.parametrize(
    ("what", "error"),
    [
        ({"amount": Decimal("174.01")}, CreditExceedsInvoice),
        ({"lines": [{"position": 2, "amount": Decimal("99.01")}]}, CreditExceedsInvoice),
        ({"amount": Decimal("0.00")}, ValidationError),
        ({"amount": Decimal("-5.00")}, ValidationError),
        ({"lines": [{"position": 9}]}, ValidationError),
        ({"lines": [{"position": 1}, {"position": 1}]}, ValidationError),
        ({"whole": True, "amount": Decimal("1.00")}, ValidationError),
        ({}, ValidationError),
    ],
)
def test_bad_credit_notes_are_refused_and_change_nothing(invoice, what, error):
    before = state()
    with pytest.raises(error):
        credit_note_issue(invoice=invoice, actor=None, reason="x", **what)
    assert state() == before


def test_nothing_is_left_to_credit_on_a_credited_invoice(invoice):
    credit_note_issue(invoice=invoice, actor=None, reason="all", whole=True)
    before = state()
    with pytest.raises(CreditExceedsInvoice):
        credit_note_issue(invoice=invoice, actor=None, reason="again", amount=Decimal("1.00"))
    assert state() == before


def test_customer_roles_never_issue_a_credit_note(org, invoice):
    members = [
        UserFactory(organisation=org, role=role) for role in ("owner", "admin", "finance", "user")
    ]
    before = state()
    for member in members:
        with pytest.raises(PermissionDenied, match="Only platform staff"):
            credit_note_issue(invoice=invoice, actor=member, reason="x", whole=True)
    assert state() == before


def test_a_credit_note_is_never_edited_nor_deleted(invoice):
    note = credit_note_issue(invoice=invoice, actor=None, reason="all", whole=True)
    for change in (
        lambda: CreditNote.objects.filter(pk=note.pk).update(reason="edited"),
        lambda: CreditNoteLine.objects.filter(credit_note=note).update(amount=Decimal("1.00")),
        lambda: CreditNote.objects.filter(pk=note.pk).delete(),
    ):
        with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
            change()
    note.refresh_from_db()
    assert note.reason == "all"


# --- the finance CSV ---------------------------------------------------------------------------


def test_credit_notes_in_the_csv_are_negative_and_sum_to_what_was_credited(org, invoice):
    credit_note_issue(invoice=invoice, actor=None, reason="line", lines=[{"position": 2}], at=LATER)
    credit_note_issue(invoice=invoice, actor=None, reason="rest", whole=True, at=LATER)

    text = "".join(
        invoice_lines_csv(
            organisation=org, issued_from=dt.date(2026, 3, 1), issued_to=dt.date(2026, 3, 31)
        )
    )
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))

    kinds = [row["document_kind"] for row in rows]
    assert kinds == ["invoice", "invoice", "credit_note", "credit_note"]
    credits = [row for row in rows if row["document_kind"] == "credit_note"]
    assert [row["amount"] for row in credits] == ["-99.00", "-75.00"]
    assert sum(Decimal(row["amount"]) for row in credits) == -invoice.subtotal
    totals = {row["credit_note_number"]: Decimal(row["invoice_total"]) for row in credits}
    assert sum(totals.values()) == -invoice.total == Decimal("-208.80")
    billed = sum(Decimal(row["amount"]) for row in rows)
    assert billed == Decimal("0.00")  # everything billed was credited


# --- Factur-X 381 ------------------------------------------------------------------------------


def test_the_credit_note_pdf_is_factur_x_381_naming_the_invoice(invoice):
    note = credit_note_issue(
        invoice=invoice, actor=None, reason="wrong line", lines=[{"position": 2}]
    )
    _name, xml = get_facturx_xml_from_pdf(credit_note_pdf(note), check_xsd=False)
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = etree.fromstring(xml)
    ns = {
        "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    }
    assert tree.xpath("string(//rsm:ExchangedDocument/ram:TypeCode)", namespaces=ns) == "381"
    assert tree.xpath("string(//rsm:ExchangedDocument/ram:ID)", namespaces=ns) == note.number
    reference = "string(//ram:InvoiceReferencedDocument/ram:IssuerAssignedID)"
    assert tree.xpath(reference, namespaces=ns) == invoice.number
    assert tree.xpath("string(//ram:GrandTotalAmount)", namespaces=ns) == "118.80"
    assert tree.xpath("string(//ram:TaxTotalAmount)", namespaces=ns) == "19.80"
