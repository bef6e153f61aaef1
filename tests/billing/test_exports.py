"""Finance exports: the invoice PDF and the CSV of invoice lines (issue 4, API.md "Billing")."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from billing.credit_notes import credit_note_issue, invoice_reissue
from billing.documents import format_money, format_rate, invoice_seller
from billing.exports import EXPORT_COLUMNS, neutralise
from billing.models import Invoice
from billing.pdf import invoice_pdf, printable
from billing.quotes import Quote, QuoteLine
from billing.services import invoice_issue, invoice_record_payment
from tests.factories import OrganisationFactory, UserFactory, licence_type

pytestmark = pytest.mark.django_db


def line(
    description="User standard × 1",
    amount="19.00",
    *,
    quantity=1,
    kind="licence",
    code="user_standard",
    period=(dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
):
    amount = Decimal(amount)
    return QuoteLine(
        description=description,
        kind=kind,
        quantity=quantity,
        unit_price=(amount / quantity).quantize(Decimal("0.01")),
        amount=amount,
        licence_type=licence_type(code) if code else None,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
    )


def issue(organisation, *, at, lines=None, kind="purchase") -> Invoice:
    quote = Quote(
        currency=organisation.currency, tax_rate=organisation.tax_rate, lines=lines or [line()]
    )
    return invoice_issue(organisation=organisation, kind=kind, quote=quote, actor=None, at=at)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def pdf_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_has_the_invoice_facts():
    organisation = OrganisationFactory(name="Société Exemple", country="FR")
    invoice = issue(
        organisation,
        at=utc(2026, 3, 2, 12),
        lines=[
            line("User standard × 2, 01 Mar 2026 to 31 Mar 2026", "38.00", quantity=2),
            line("IP desk phone × 1", "129.00", kind="device", code=None, period=None),
        ],
    )

    content = invoice_pdf(invoice)

    assert content.startswith(b"%PDF-")
    [text] = pdf_text(content)
    seller = invoice_seller()
    for expected in (
        invoice.number,
        "Société Exemple",
        "France (FR)",
        seller["name"],
        seller["vat_number"],
        "02 Mar 2026",
        "16 Mar 2026",  # issued, due (14 days)
        "User standard × 2, 01 Mar 2026 to 31 Mar 2026",
        "IP desk phone × 1",
        "€19.00",
        "€38.00",
        "€129.00",
        "€167.00",
        "VAT (20%)",
        "€33.40",
        "Total (EUR)",
        "€200.40",
    ):
        assert expected in text, expected
    assert "PAID" not in text and "CREDITED" not in text


def test_pdf_of_a_renewal_shows_its_period():
    organisation = OrganisationFactory()
    from billing.periods import Period

    quote = Quote(currency="EUR", tax_rate=Decimal("0.2000"), lines=[line()])
    invoice = invoice_issue(
        organisation=organisation,
        kind="renewal",
        quote=quote,
        actor=None,
        at=utc(2026, 3, 1, 8),
        period=Period(dt.date(2026, 3, 1), dt.date(2026, 4, 1)),
    )

    [text] = pdf_text(invoice_pdf(invoice))

    assert "01 Mar 2026 – 31 Mar 2026" in text


def test_pdf_labels_paid_and_credited_invoices():
    organisation = OrganisationFactory()
    paid = issue(organisation, at=utc(2026, 3, 2, 12))
    invoice_record_payment(invoice=paid, actor=None)
    voided = issue(organisation, at=utc(2026, 3, 3, 12))
    corrected = invoice_reissue(
        invoice=voided,
        actor=None,
        reason="wrong quantity",
        quote=Quote(currency="EUR", tax_rate=Decimal("0.2000"), lines=[line(amount="9.50")]),
    )

    [paid_text] = pdf_text(invoice_pdf(Invoice.objects.get(pk=paid.pk)))
    [void_text] = pdf_text(invoice_pdf(Invoice.objects.get(pk=voided.pk)))
    [corrected_text] = pdf_text(invoice_pdf(corrected))

    assert "PAID" in paid_text and "paid in full" in paid_text
    assert void_text.count("CREDITED") >= 2  # the label and the watermark
    assert "not payable" in void_text and corrected.number in void_text
    assert voided.credit_notes.get().number in void_text
    assert voided.number in corrected_text  # "Replaces"


def test_a_60_line_invoice_paginates_with_the_header_on_every_page():
    organisation = OrganisationFactory(currency="GBP")
    lines = [
        line(
            f"Room phone licence {n}: " + "reception desk, ground floor " * (n % 4),
            "9.99",
            code="room_phone",
        )
        for n in range(1, 61)
    ]
    invoice = issue(organisation, at=utc(2026, 3, 2, 12), lines=lines)

    pages = pdf_text(invoice_pdf(invoice))

    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert "Description" in text and "Unit price" in text  # repeated header row
        assert f"Page {number} of {len(pages)}" in text
        assert invoice.number in text
    every_line = "".join(pages)
    for n in range(1, 61):
        assert f"Room phone licence {n}:" in every_line
    assert "£599.40" in pages[-1] and "£719.28" in pages[-1]  # subtotal, total after tax
    assert "(continued)" in pages[1]


def test_pdf_seller_comes_from_settings_when_given(settings):
    settings.INVOICE_SELLER = {
        "name": "Acme Telecom Ltd",
        "address": "1 High Street\nLondon",
        "vat_number": "GB123456789",
    }
    invoice = issue(OrganisationFactory(), at=utc(2026, 3, 2, 12))

    [text] = pdf_text(invoice_pdf(invoice))

    assert "Acme Telecom Ltd" in text and "1 High Street" in text and "GB123456789" in text
    assert invoice_seller()["email"] == "billing@telecom.example"  # defaults fill the rest


def test_pdf_survives_markup_and_characters_the_font_lacks():
    organisation = OrganisationFactory(name="<b>Tokyo</b> 東京 & Ősz")
    invoice = issue(
        organisation,
        at=utc(2026, 3, 2, 12),
        lines=[line("A <i>tag</i> & an ampersand " + "x" * 250)],
    )

    [text] = pdf_text(invoice_pdf(invoice))

    assert "<b>Tokyo</b> ?? & Osz" in text
    assert "A <i>tag</i> & an ampersand" in text


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [("1234.5", "EUR", "€1,234.50"), ("-12", "GBP", "-£12.00"), ("0", "USD", "$0.00")],
)
def test_format_money(amount, currency, expected):
    assert format_money(Decimal(amount), currency) == expected


def test_format_rate_and_printable():
    assert format_rate(Decimal("0.2000")) == "20%"
    assert format_rate(Decimal("0.0550")) == "5.5%"
    assert format_rate(Decimal("0")) == "0%"
    assert printable("Łódź ő 日") == "Łódz o ?"  # Vera has Ł and ó, not ź or ő


# --- CSV: neutralising formulas ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+33612345678", "'+33612345678"),  # E.164: kept as text, with its plus
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-2+3", "'-2+3"),
        ("- discount", "'- discount"),
        ("Room phone", "Room phone"),
        ("1+1", "1+1"),
        ("", ""),
    ],
)
def test_neutralise(text, written):
    assert neutralise(text) == written


# --- CSV through the API ----------------------------------------------------------------------


def read_csv(response) -> tuple[str, list[dict]]:
    raw = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(raw.removeprefix("\ufeff"), newline="")))
    return raw, rows


@pytest.fixture
def finance(db):
    organisation = OrganisationFactory(name="Org A")
    return UserFactory(organisation=organisation, role="finance")


def export(client, issued_from="2026-01-01", issued_to="2026-12-31", **headers):
    return client.get(
        f"/api/v1/invoices/export/?issued_from={issued_from}&issued_to={issued_to}", **headers
    )


def test_export_one_row_per_invoice_line(api_client_for, finance):
    organisation = finance.organisation
    first = issue(
        organisation,
        at=utc(2026, 3, 2, 12),
        lines=[
            line("User standard × 2", "38.00", quantity=2),
            line("IP desk phone × 1", "129.00", kind="device", code=None, period=None),
        ],
    )
    second = issue(organisation, at=utc(2026, 4, 2, 12))

    response = export(api_client_for(finance))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="invoice-lines_2026-01-01_2026-12-31.csv"'
    )
    raw, rows = read_csv(response)
    assert raw.startswith("\ufeffdocument_kind,invoice_number,credit_note_number,")  # BOM
    assert raw.splitlines(keepends=True)[0].endswith("\r\n")  # RFC 4180 line ends
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows == [
        {
            "document_kind": "invoice",
            "invoice_number": first.number,
            "credit_note_number": "",
            "issued_on": "2026-03-02",
            "due_on": "2026-03-16",
            "status": "issued",
            "organisation": "Org A",
            "currency": "EUR",
            "line_position": "1",
            "description": "User standard × 2",
            "kind": "licence",
            "licence_type": "user_standard",
            "quantity": "2",
            "unit_price": "19.00",
            "amount": "38.00",
            "invoice_subtotal": "167.00",
            "invoice_tax": "33.40",
            "invoice_total": "200.40",
        },
        {
            "document_kind": "invoice",
            "invoice_number": first.number,
            "credit_note_number": "",
            "issued_on": "2026-03-02",
            "due_on": "2026-03-16",
            "status": "issued",
            "organisation": "Org A",
            "currency": "EUR",
            "line_position": "2",
            "description": "IP desk phone × 1",
            "kind": "device",
            "licence_type": "",
            "quantity": "1",
            "unit_price": "129.00",
            "amount": "129.00",
            "invoice_subtotal": "167.00",
            "invoice_tax": "33.40",
            "invoice_total": "200.40",
        },
        {
            "document_kind": "invoice",
            "invoice_number": second.number,
            "credit_note_number": "",
            "issued_on": "2026-04-02",
            "due_on": "2026-04-16",
            "status": "issued",
            "organisation": "Org A",
            "currency": "EUR",
            "line_position": "1",
            "description": "User standard × 1",
            "kind": "licence",
            "licence_type": "user_standard",
            "quantity": "1",
            "unit_price": "19.00",
            "amount": "19.00",
            "invoice_subtotal": "19.00",
            "invoice_tax": "3.80",
            "invoice_total": "22.80",
        },
    ]


def test_export_range_is_inclusive_on_the_local_issue_date(api_client_for, finance):
    organisation = finance.organisation  # Europe/Paris
    before = issue(organisation, at=utc(2026, 2, 28, 22, 59))  # 23:59 on 28 Feb in Paris
    on_first = issue(organisation, at=utc(2026, 2, 28, 23, 0))  # 00:00 on 1 Mar in Paris
    on_last = issue(organisation, at=utc(2026, 3, 31, 21, 59))  # 23:59 on 31 Mar (CEST)
    after = issue(organisation, at=utc(2026, 3, 31, 22, 0))  # 00:00 on 1 Apr in Paris

    _raw, rows = read_csv(export(api_client_for(finance), "2026-03-01", "2026-03-31"))

    numbers = [row["invoice_number"] for row in rows]
    assert numbers == [on_first.number, on_last.number]
    assert before.number not in numbers and after.number not in numbers


def test_export_neutralises_text_cells_and_keeps_amounts_numeric(api_client_for, finance):
    organisation = finance.organisation
    organisation.name = "=cmd|' /C calc'!A0"
    organisation.save(update_fields=["name"])
    descriptions = [
        '=HYPERLINK("http://evil.example","Click")',
        "+33612345678",
        "@SUM(A1:A9)",
        "\tTabbed",
        "\rReturned",
        "- early termination credit",
        'Plain, with "quotes"\nand a new line',
    ]
    lines = [line(text, "10.00", code=None, period=None) for text in descriptions]
    lines.append(line("Credit for an outage", "-12.00", kind="usage", code=None, period=None))
    issue(organisation, at=utc(2026, 3, 2, 12), lines=lines)
    credit_only = issue(
        organisation,
        at=utc(2026, 3, 3, 12),
        kind="correction",
        lines=[line("Refund", "-12.00", kind="usage", code=None, period=None)],
    )

    raw, rows = read_csv(export(api_client_for(finance)))

    assert [row["description"] for row in rows[:7]] == [
        '\'=HYPERLINK("http://evil.example","Click")',
        "'+33612345678",
        "'@SUM(A1:A9)",
        "'\tTabbed",
        "'\rReturned",
        "'- early termination credit",
        'Plain, with "quotes"\nand a new line',
    ]
    assert '"Plain, with ""quotes""\nand a new line"' in raw  # RFC 4180 quoting
    assert {row["organisation"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    credit = rows[7]
    assert (credit["unit_price"], credit["amount"]) == ("-12.00", "-12.00")  # numbers, no quote
    assert rows[0]["invoice_subtotal"] == "58.00"  # 7 × 10.00 − 12.00
    refund = rows[8]
    assert refund["invoice_number"] == credit_only.number
    assert (
        refund["amount"],
        refund["invoice_subtotal"],
        refund["invoice_tax"],
        refund["invoice_total"],
    ) == ("-12.00", "-12.00", "-2.40", "-14.40")
    for row in rows:
        for column in (
            "quantity",
            "unit_price",
            "amount",
            "invoice_subtotal",
            "invoice_tax",
            "invoice_total",
        ):
            Decimal(row[column])  # every numeric column parses as a number


def test_export_lists_credited_and_paid_invoices_with_their_status(api_client_for, finance):
    organisation = finance.organisation
    paid = issue(organisation, at=utc(2026, 3, 2, 12))
    invoice_record_payment(invoice=paid, actor=None)
    voided = issue(organisation, at=utc(2026, 3, 3, 12))
    note = credit_note_issue(invoice=voided, actor=None, reason="duplicate", whole=True)

    _raw, rows = read_csv(export(api_client_for(finance)))

    assert [
        (row["document_kind"], row["invoice_number"], row["credit_note_number"], row["status"])
        for row in rows
    ] == [
        ("invoice", paid.number, "", "paid"),
        ("invoice", voided.number, "", "credited"),
        ("credit_note", voided.number, note.number, "issued"),
    ]


def test_export_query_count_does_not_grow_with_rows(api_client_for, finance):
    client = api_client_for(finance)
    issue(finance.organisation, at=utc(2026, 3, 2, 12))

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            _raw, rows = read_csv(export(client))
        return len(queries), len(rows)

    few_queries, few_rows = count()
    for day in range(3, 28):
        issue(
            finance.organisation,
            at=utc(2026, 3, day, 12),
            lines=[line(), line("IP desk phone", "129.00", kind="device", code=None)],
        )
    many_queries, many_rows = count()

    assert (few_rows, many_rows) == (1, 51)
    assert many_queries == few_queries


def test_export_contains_only_the_callers_organisation(api_client_for, finance):
    mine = issue(finance.organisation, at=utc(2026, 3, 2, 12))
    other = OrganisationFactory(name="Org B secret")
    theirs = issue(other, at=utc(2026, 3, 2, 12), lines=[line("B private line")])

    raw, rows = read_csv(export(api_client_for(finance)))

    assert {row["invoice_number"] for row in rows} == {mine.number}
    for leak in (theirs.number, "Org B secret", "B private line"):
        assert leak not in raw


def test_export_by_platform_staff_covers_every_organisation(api_client_for, finance, staff):
    mine = issue(finance.organisation, at=utc(2026, 3, 2, 12))
    theirs = issue(OrganisationFactory(), at=utc(2026, 3, 2, 12))

    _raw, rows = read_csv(export(api_client_for(staff)))

    assert {mine.number, theirs.number} <= {row["invoice_number"] for row in rows}


def test_export_of_an_empty_range_is_the_header_only(api_client_for, finance):
    raw, rows = read_csv(export(api_client_for(finance)))

    assert rows == []
    assert raw == "\ufeff" + ",".join(EXPORT_COLUMNS) + "\r\n"


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", {"issued_from": "required", "issued_to": "required"}),
        ("issued_from=2026-01-01", {"issued_to": "required"}),
        ("issued_to=2026-01-01", {"issued_from": "required"}),
        ("issued_from=yesterday&issued_to=2026-01-01", {"issued_from": "invalid"}),
        ("issued_from=2026-02-30&issued_to=2026-03-01", {"issued_from": "invalid"}),
        ("issued_from=2026-03-02&issued_to=2026-03-01", {"issued_to": "before_issued_from"}),
    ],
)
def test_export_requires_a_valid_range(api_client_for, finance, query, fields):
    response = api_client_for(finance).get(f"/api/v1/invoices/export/?{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert {field: errors[0]["code"] for field, errors in body["fields"].items()} == fields


def test_export_errors_are_json_even_when_csv_is_asked_for(api_client_for, finance):
    response = api_client_for(finance).get("/api/v1/invoices/export/", HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid"


def test_export_accepts_an_accept_header_for_csv(api_client_for, finance):
    issue(finance.organisation, at=utc(2026, 3, 2, 12))

    response = export(api_client_for(finance), HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert len(read_csv(response)[1]) == 1


# --- PDF through the API ----------------------------------------------------------------------


def test_pdf_route(api_client_for, finance):
    invoice = issue(finance.organisation, at=utc(2026, 3, 2, 12))

    response = api_client_for(finance).get(f"/api/v1/invoices/{invoice.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="invoice-{invoice.number}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    [text] = pdf_text(response.content)
    assert invoice.number in text and "€22.80" in text


def test_pdf_route_with_an_accept_header(api_client_for, finance):
    invoice = issue(finance.organisation, at=utc(2026, 3, 2, 12))
    client = api_client_for(finance)

    found = client.get(f"/api/v1/invoices/{invoice.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    missing = client.get(f"/api/v1/invoices/{finance.pk}/pdf/", HTTP_ACCEPT="application/pdf")

    assert found.status_code == 200 and found.content.startswith(b"%PDF-")
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "detail": "Not found."}


def test_pdf_of_another_organisations_invoice_is_a_404(api_client_for, finance):
    theirs = issue(OrganisationFactory(name="Org B secret"), at=utc(2026, 3, 2, 12))
    owner_b = UserFactory(organisation=theirs.organisation, role="owner")

    response = api_client_for(finance).get(f"/api/v1/invoices/{theirs.pk}/pdf/")
    own = api_client_for(owner_b).get(f"/api/v1/invoices/{theirs.pk}/pdf/")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}
    assert own.status_code == 200


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("admin", 200), ("finance", 200), ("user", 403)]
)
def test_pdf_and_export_by_role(api_client_for, finance, role, status):
    invoice = issue(finance.organisation, at=utc(2026, 3, 2, 12))
    client = api_client_for(UserFactory(organisation=finance.organisation, role=role))

    assert client.get(f"/api/v1/invoices/{invoice.pk}/pdf/").status_code == status
    assert export(client).status_code == status


def test_pdf_and_export_need_authentication(anon_client, finance):
    invoice = issue(finance.organisation, at=utc(2026, 3, 2, 12))

    assert anon_client.get(f"/api/v1/invoices/{invoice.pk}/pdf/").status_code == 401
    assert export(anon_client).status_code == 401
