"""The console's billing pages (issue 4): invoices, payments, void and reissue, finance exports,
commitments, device orders, usage, the calling-credit cap and the dashboard's billing figures."""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import AuditEvent
from billing import services as billing
from billing.credit_notes import credit_note_issue
from billing.exports import EXPORT_COLUMNS
from billing.models import (
    Charge,
    ChargeKind,
    Commitment,
    CreditNote,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
)
from billing.periods import local_midnight
from billing.quotes import Quote, QuoteLine
from billing.restriction import organisation_restriction_reasons
from billing.usage import usage_record
from licensing import services as licensing
from licensing.models import Device
from numbering import services as numbering
from tests.admin.conftest import SHARE_WORLDS, db_state, messages_of, page_text
from tests.factories import OrganisationFactory, UserFactory, licence_type, stock

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]

PARIS = ZoneInfo("Europe/Paris")
JUNE_10 = dt.datetime(2025, 6, 10, 10, 0, tzinfo=PARIS)
# The worlds are built at this instant; the clock runs on from it (tests/admin/conftest.py).
WORLDS_BUILT_AT = JUNE_10
DOES_NOT_EXIST = "doesn’t exist"


@pytest.fixture
def pinned():
    """The clock of tests that build a world (ask for it first, before `world_a`)."""
    with time_machine.travel(JUNE_10, tick=False):
        yield JUNE_10


def url(name: str, *args, **query) -> str:
    from urllib.parse import urlencode

    return reverse(f"admin:{name}", args=args) + (f"?{urlencode(query)}" if query else "")


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel reads UTF-8 only with the byte-order mark
    return list(csv.reader(io.StringIO(body[1:])))


def quote_of(*lines: tuple[str, int, str], tax_rate="0.2000", currency="EUR") -> Quote:
    return Quote(
        currency=currency,
        tax_rate=Decimal(tax_rate),
        lines=[
            QuoteLine(
                description=description,
                kind="licence",
                quantity=quantity,
                unit_price=Decimal(price),
                amount=Decimal(price) * quantity,
            )
            for description, quantity, price in lines
        ],
    )


def issue(organisation, *lines, at=None) -> Invoice:
    return billing.invoice_issue(
        organisation=organisation,
        kind=InvoiceKind.PURCHASE,
        quote=quote_of(*lines),
        actor=None,
        at=at,
    )


# --- the invoices list ---------------------------------------------------------------------------


def test_finance_lists_invoices_with_status_overdue_and_total(client, world_a):
    Invoice.objects.filter(pk=world_a.invoice.pk).update(due_on=dt.date(2020, 1, 1))
    client.force_login(world_a.finance)
    response = client.get(url("billing_invoice_changelist"))
    assert response.status_code == 200
    text = page_text(response)
    invoice = Invoice.objects.get(pk=world_a.invoice.pk)
    assert invoice.number in text
    assert f"{invoice.total} EUR" in text
    assert '<span class="overdue-flag">overdue</span>' in text
    assert url("billing_invoice_pdf", invoice.pk) in text  # the list's download link
    assert "Export lines as CSV" in text
    # Members never get the organisation column or filter (TenantAdmin).
    assert "field-organisation" not in text


@pytest.mark.time_machine(dt.datetime(2025, 7, 1, 10, tzinfo=PARIS), tick=False)
def test_invoice_filters_status_kind_overdue_dates_and_search(client, db):
    org = OrganisationFactory(name="Filters Ltd")
    finance = UserFactory(organisation=org, role="finance")
    with time_machine.travel(dt.datetime(2025, 3, 5, 12, tzinfo=PARIS), tick=False):
        march = issue(org, ("March", 1, "10.00"))
    with time_machine.travel(dt.datetime(2025, 4, 20, 12, tzinfo=PARIS), tick=False):
        april = issue(org, ("April", 1, "20.00"))
    with time_machine.travel(dt.datetime(2025, 5, 2, 12, tzinfo=PARIS), tick=False):
        may = issue(org, ("May", 1, "30.00"))
    billing.invoice_record_payment(invoice=april, actor=None)
    client.force_login(finance)

    def listed(**params) -> set:
        response = client.get(url("billing_invoice_changelist"), params)
        assert response.status_code == 200, params
        return {i.number for i in response.context["cl"].result_list}

    everything = listed()
    assert everything == {march.number, april.number, may.number}
    assert listed(status__exact="paid") == {april.number}
    assert listed(overdue="yes") == {march.number, may.number}  # unpaid, due in 2025
    assert listed(overdue="no") == {april.number}
    assert listed(issued_from="2025-03-01", issued_to="2025-03-31") == {march.number}
    assert listed(issued_from="2025-04-01") == {april.number, may.number}
    assert listed(issued_to="2025-04-20") == {march.number, april.number}
    assert listed(issued_on__year="2025", issued_on__month="4") == {april.number}
    assert listed(kind__exact="purchase") == everything
    assert listed(q=april.number) == {april.number}
    # The export link carries the range chosen in the list.
    response = client.get(url("billing_invoice_changelist"), {"issued_from": "2025-03-01"})
    assert url("billing_invoice_export", issued_from="2025-03-01") in page_text(response)


@pytest.mark.time_machine(dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC), tick=False)
def test_platform_staff_overdue_filter_uses_each_organisations_local_date(client, staff):
    # 12:00 UTC on 10 June is already 11 June in Kiritimati (UTC+14) and still 10 June in
    # Pago Pago (UTC-11): an invoice due on 10 June is overdue in the first only.
    ahead = OrganisationFactory(name="Ahead", timezone="Pacific/Kiritimati")
    behind = OrganisationFactory(name="Behind", timezone="Pacific/Pago_Pago")
    ahead_invoice = issue(ahead, ("Line", 1, "10.00"))
    behind_invoice = issue(behind, ("Line", 1, "10.00"))
    Invoice.objects.filter(pk__in=[ahead_invoice.pk, behind_invoice.pk]).update(
        due_on=dt.date(2025, 6, 10)
    )
    client.force_login(staff)
    with time_machine.travel(dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC), tick=False):
        response = client.get(url("billing_invoice_changelist"), {"overdue": "yes"})
        assert [i.pk for i in response.context["cl"].result_list] == [ahead_invoice.pk]
        response = client.get(url("billing_invoice_changelist"), {"overdue": "no"})
        # Staff see every organisation's: the module's worlds' invoices are not overdue either.
        others = Invoice.objects.exclude(organisation__in=[ahead, behind])
        assert {i.pk for i in response.context["cl"].result_list} == {
            behind_invoice.pk,
            *others.values_list("pk", flat=True),
        }


def test_the_user_role_reaches_no_billing_page(client, world_a):
    client.force_login(world_a.user)
    for target in (
        url("billing_invoice_changelist"),
        url("billing_invoice_pdf", world_a.invoice.pk),
        url("billing_invoice_export", issued_from="2020-01-01", issued_to="2030-01-01"),
        url("billing_invoice_payment", world_a.invoice.pk),
        url("billing_commitment_changelist"),
        url("billing_charge_add"),
        url("billing_usagerecord_changelist"),
    ):
        response = client.get(target)
        assert response.status_code == 302, target
        assert response.url == reverse("webapp:home")  # with a sentence (tests/admin/test_roles)


# --- PDF and CSV ---------------------------------------------------------------------------------


def test_finance_downloads_the_invoice_pdf(client, world_a):
    client.force_login(world_a.finance)
    page = client.get(url("billing_invoice_change", world_a.invoice.pk))
    assert 'href="{}">Download PDF'.format(url("billing_invoice_pdf", world_a.invoice.pk)) in (
        page_text(page)
    )
    response = client.get(url("billing_invoice_pdf", world_a.invoice.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="invoice-{world_a.invoice.number}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")


def test_the_invoice_page_reads_like_the_pdf(client, world_a, staff):
    """Header, bill-to, lines, subtotal, the tax rate as a percentage, the total with its
    currency, the payments and the closing sentence: billing.documents, shared with the PDF."""
    org = world_a.organisation
    with time_machine.travel(dt.datetime(2025, 3, 5, 12, tzinfo=PARIS), tick=False):
        invoice = issue(org, ("Two user licences", 2, "10.00"), ("Setup", 1, "5.50"))
    client.force_login(world_a.finance)
    text = page_text(client.get(url("billing_invoice_change", invoice.pk)))
    document = text[text.index('id="invoice-document"') : text.index("</article>")]
    for expected in (
        invoice.number,
        org.name,
        "Issued</dt><dd>05 Mar 2025",
        "Due</dt><dd>19 Mar 2025",
        "Issued, payment due",
        "Two user licences",
        "€10.00",
        "€20.00",
        'Subtotal</th><td class="num">€25.50',
        "VAT (20%)",
        "€5.10",
        "Total (EUR)",
        "€30.60",
        "is due by 19 Mar 2025",
    ):
        assert expected in document, expected
    for raw in ("0.2000", "25.50 EUR", "Pro rata", "Position"):  # no database fields on show
        assert raw not in document
    assert 'href="{}">Download CSV'.format(url("billing_invoice_csv", invoice.pk)) in text

    with time_machine.travel(dt.datetime(2025, 3, 8, 9, tzinfo=PARIS), tick=False):
        billing.invoice_record_payment(
            invoice=invoice, actor=staff, method="bank_transfer", reference="VIR-0042"
        )
    text = page_text(client.get(url("billing_invoice_change", invoice.pk)))
    assert "€30.60 received on 08 Mar 2025 (Bank transfer, VIR-0042)" in text
    assert "This invoice has been paid in full." in text
    assert "Paid 08 Mar 2025" in text


def test_finance_downloads_one_invoice_as_csv(client, world_a):
    org = world_a.organisation
    with time_machine.travel(dt.datetime(2025, 3, 5, 12, tzinfo=PARIS), tick=False):
        invoice = issue(org, ("=HYPERLINK(1)", 2, "10.00"), ("Second", 1, "5.50"))
        issue(org, ("Same day, other invoice", 1, "1.00"))
    client.force_login(world_a.finance)
    response = client.get(url("billing_invoice_csv", invoice.pk))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="invoice-{invoice.number}.csv"'
    rows = csv_rows(response)
    assert rows[0] == list(EXPORT_COLUMNS)
    descriptions = [row[EXPORT_COLUMNS.index("description")] for row in rows[1:]]
    assert descriptions == ["'=HYPERLINK(1)", "Second"]


def test_finance_exports_lines_for_a_date_range(client, world_a):
    org = world_a.organisation
    with time_machine.travel(dt.datetime(2025, 3, 5, 12, tzinfo=PARIS), tick=False):
        march = issue(org, ("=HYPERLINK(1)", 2, "10.00"), ("Second", 1, "5.50"))
    with time_machine.travel(dt.datetime(2025, 4, 20, 12, tzinfo=PARIS), tick=False):
        issue(org, ("April", 1, "20.00"))
    client.force_login(world_a.finance)
    form = client.get(url("billing_invoice_export"))
    assert form.status_code == 200
    assert 'name="issued_from"' in page_text(form)

    response = client.get(
        url("billing_invoice_export"), {"issued_from": "2025-03-01", "issued_to": "2025-03-31"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="invoice-lines_2025-03-01_2025-03-31.csv"'
    )
    header, *rows = csv_rows(response)
    assert tuple(header) == EXPORT_COLUMNS
    assert [(r[1], r[9], r[12], r[13], r[14], r[17]) for r in rows] == [
        (march.number, "'=HYPERLINK(1)", "2", "10.00", "20.00", "30.60"),
        (march.number, "Second", "1", "5.50", "5.50", "30.60"),
    ]


def test_export_page_refuses_a_backwards_range(client, world_a):
    client.force_login(world_a.finance)
    response = client.get(
        url("billing_invoice_export"), {"issued_from": "2025-04-01", "issued_to": "2025-03-01"}
    )
    assert response.status_code == 200
    assert "The range ends before it starts." in page_text(response)


def test_export_action_on_selected_invoices(client, world_a):
    org = world_a.organisation
    with time_machine.travel(dt.datetime(2025, 3, 5, 12, tzinfo=PARIS), tick=False):
        march = issue(org, ("March", 1, "10.00"))
    with time_machine.travel(dt.datetime(2025, 4, 20, 12, tzinfo=PARIS), tick=False):
        april = issue(org, ("April", 1, "20.00"))
    with time_machine.travel(dt.datetime(2025, 5, 2, 12, tzinfo=PARIS), tick=False):
        issue(org, ("May, not selected", 1, "30.00"))
    client.force_login(world_a.finance)
    response = client.post(
        url("billing_invoice_changelist"),
        {"action": "export_selected_lines", "_selected_action": [march.pk, april.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="invoice-lines_2025-03-05_2025-04-20.csv"'
    )
    _, *rows = csv_rows(response)
    assert [(r[1], r[9], r[14]) for r in rows] == [
        (march.number, "March", "10.00"),
        (april.number, "April", "20.00"),
    ]


def test_export_of_b_never_contains_a_lines(client, world_a, world_b):
    client.force_login(world_b.finance)
    response = client.get(
        url("billing_invoice_export"), {"issued_from": "2000-01-01", "issued_to": "2100-01-01"}
    )
    _, *rows = csv_rows(response)
    assert {r[1] for r in rows} == set(
        Invoice.objects.filter(organisation=world_b.organisation).values_list("number", flat=True)
    )
    action = client.post(
        url("billing_invoice_changelist"),
        {"action": "export_selected_lines", "_selected_action": [world_a.invoice.pk]},
    )
    # A's id is not among B's rows: nothing selected, no file.
    assert action.status_code == 302
    assert any("Items must be selected" in m for m in messages_of(action))


# --- payments (rule 18) --------------------------------------------------------------------------


def test_staff_record_a_payment_which_lifts_the_restriction(pinned, client, staff, world_a):
    invoice = world_a.invoice
    Invoice.objects.filter(pk=invoice.pk).update(due_on=dt.date(2020, 1, 1))
    client.force_login(staff)
    page = client.get(url("billing_invoice_change", invoice.pk))
    assert "Record payment" in page_text(page)
    form = client.get(url("billing_invoice_payment", invoice.pk))
    assert form.status_code == 200
    assert f"Record payment of {invoice.total} EUR" in page_text(form)

    response = client.post(
        url("billing_invoice_payment", invoice.pk),
        {"method": "bank_transfer", "reference": "BANK-42"},
    )

    assert response.status_code == 302
    assert response.url == url("billing_invoice_change", invoice.pk)
    assert messages_of(response) == [
        f"Payment of {invoice.total} EUR recorded: invoice {invoice.number} is paid."
    ]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.amount, payment.method, payment.reference, payment.recorded_by) == (
        invoice.total,
        "bank_transfer",
        "BANK-42",
        staff,
    )
    assert AuditEvent.objects.filter(action="invoice.paid", target_id=str(invoice.pk)).count() == 1
    assert "Record payment" not in page_text(client.get(url("billing_invoice_change", invoice.pk)))
    assert organisation_restriction_reasons(world_a.organisation) == []


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"method": "bank_transfer", "reference": ""},
            "reference",
            "Give the bank’s or the processor’s reference of the payment, so it can be traced.",
        ),
        (
            {"method": "bank_transfer", "reference": "   "},
            "reference",
            "Give the bank’s or the processor’s reference of the payment, so it can be traced.",
        ),
        ({"reference": "BANK-42"}, "method", "Say how the invoice was paid."),
        (
            {"method": "gold_bars", "reference": "BANK-42"},
            "method",
            "Select a valid choice. gold_bars is not one of the available choices.",
        ),
    ],
)
def test_a_payment_without_reference_or_method_is_a_form_error(
    pinned, client, staff, world_a, data, field, message
):
    client.force_login(staff)
    before = db_state()
    response = client.post(url("billing_invoice_payment", world_a.invoice.pk), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message.replace("’", "'")]}
    assert db_state() == before


def test_the_payment_service_requires_staff_to_name_method_and_reference(pinned, staff, world_a):
    with pytest.raises(ValidationError) as refused:
        billing.invoice_record_payment(
            invoice=world_a.invoice, actor=staff, method="", reference=" "
        )
    assert set(refused.value.error_dict) == {"method", "reference"}
    world_a.invoice.refresh_from_db()
    assert world_a.invoice.status == InvoiceStatus.ISSUED
    assert not Payment.objects.filter(invoice=world_a.invoice).exists()


def test_paying_a_paid_invoice_again_is_refused_with_its_code(pinned, client, staff, world_a):
    billing.invoice_record_payment(invoice=world_a.invoice, actor=None)
    client.force_login(staff)
    before = db_state()
    response = client.post(
        url("billing_invoice_payment", world_a.invoice.pk), {"method": "card", "reference": "R-1"}
    )
    assert response.status_code == 302
    assert messages_of(response) == [f"Invoice {world_a.invoice.number} is paid."]
    assert db_state() == before


@pytest.mark.parametrize("role", ["owner", "admin", "finance"])
def test_customer_roles_read_invoices_but_never_mark_one_paid(pinned, client, world_a, role):
    """Issue 11 section 4: a finance member pressed "Record payment" with an empty reference
    and the overdue invoice became paid, lifting the restriction."""
    invoice = world_a.invoice
    Invoice.objects.filter(pk=invoice.pk).update(due_on=dt.date(2020, 1, 1))
    member = getattr(world_a, role)
    client.force_login(member)
    page = client.get(url("billing_invoice_change", invoice.pk))
    assert page.status_code == 200
    assert "Record payment" not in page_text(page)
    assert url("billing_invoice_payment", invoice.pk) not in page_text(page)
    assert client.get(url("billing_invoice_pdf", invoice.pk)).status_code == 200
    before = db_state()
    for response in (
        client.get(url("billing_invoice_payment", invoice.pk)),
        client.post(url("billing_invoice_payment", invoice.pk), {"method": "card"}),
        client.post(
            url("billing_invoice_payment", invoice.pk),
            {"method": "bank_transfer", "reference": "BANK-42"},
        ),
    ):
        assert response.status_code == 403
    assert db_state() == before
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED
    assert organisation_restriction_reasons(world_a.organisation)[0] == (
        f"An invoice is overdue: {invoice.number}."
    )


@pytest.mark.parametrize("role", ["owner", "admin", "finance", "user"])
def test_the_payment_service_refuses_every_customer_role(pinned, world_a, role):
    with pytest.raises(PermissionDenied):
        billing.invoice_record_payment(
            invoice=world_a.invoice,
            actor=getattr(world_a, role),
            method="bank_transfer",
            reference="BANK-42",
        )
    world_a.invoice.refresh_from_db()
    assert world_a.invoice.status == InvoiceStatus.ISSUED
    assert not Payment.objects.filter(invoice=world_a.invoice).exists()


# --- credit notes, credit and reissue (docs/rules.md) ------------------------------------------


def test_staff_credit_a_whole_issued_invoice_after_a_review(client, staff, world_a):
    invoice = world_a.invoice
    client.force_login(staff)
    page = client.get(url("billing_invoice_change", invoice.pk))
    assert "Credit and reissue" in page_text(page) and "Issue a credit note" in page_text(page)
    data = {"what": "whole", "reason": "duplicate"}
    review = client.post(url("billing_invoice_credit", invoice.pk), {**data, "_review": "1"})
    assert review.status_code == 200
    draft = review.context["review"]
    assert (draft.total, draft.due_after, draft.full) == (invoice.total, Decimal("0.00"), True)
    assert not CreditNote.objects.exists()  # nothing issued by the review

    response = client.post(url("billing_invoice_credit", invoice.pk), {**data, "_confirm": "1"})

    note = CreditNote.objects.get(invoice=invoice)
    assert response.status_code == 302
    assert response.url == url("billing_creditnote_change", note.pk)
    assert messages_of(response) == [
        f"Credit note {note.number} issued: {invoice.total} {invoice.currency} off invoice "
        f"{invoice.number}."
    ]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CREDITED
    assert note.number == f"{world_a.organisation.invoice_prefix}-CN-000001"
    event = AuditEvent.objects.get(action="credit_note.issued", target_id=str(note.pk))
    assert (event.actor, event.changes["reason"]) == (staff, "duplicate")
    page = page_text(client.get(url("billing_creditnote_change", note.pk)))
    assert "duplicate" in page and invoice.number in page
    pdf = client.get(url("billing_creditnote_pdf", note.pk))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    sends = client.get(reverse("admin:billing_documentsend_changelist") + "?status=pending")
    assert sends.status_code == 200


def test_staff_credit_chosen_lines(client, staff, world_a):
    invoice = world_a.invoice
    [first] = invoice.lines.order_by("position")  # its only line: all of it is credited
    client.force_login(staff)
    data = {"what": "lines", "lines": [str(first.position)], "reason": "not delivered"}
    review = client.post(url("billing_invoice_credit", invoice.pk), {**data, "_review": "1"})
    assert review.status_code == 200
    draft = review.context["review"]
    assert (draft.subtotal, draft.total, draft.full) == (first.amount, invoice.total, True)
    assert f'name="lines" value="{first.position}"' in review.content.decode()

    client.post(url("billing_invoice_credit", invoice.pk), {**data, "_confirm": "1"})

    note = CreditNote.objects.get(invoice=invoice)
    assert (note.subtotal, note.total) == (draft.subtotal, draft.total)
    assert note.lines.get().invoice_line == first
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CREDITED
    page = page_text(client.get(url("billing_invoice_change", invoice.pk)))
    assert note.number in page


def test_a_credit_of_more_than_is_left_is_refused_in_words(client, staff, world_a):
    client.force_login(staff)
    before = db_state()
    amount = str(world_a.invoice.subtotal + Decimal("0.01"))
    response = client.post(
        url("billing_invoice_credit", world_a.invoice.pk),
        {"what": "amount", "amount": amount, "reason": "too much", "_confirm": "1"},
    )
    assert response.status_code == 200
    text = page_text(response)
    assert "left to credit" in text and "credit_exceeds_invoice" not in text
    assert db_state() == before


@pytest.mark.time_machine(JUNE_10, tick=False)
def test_staff_reissue_a_corrected_invoice_with_a_new_number(client, staff):
    org = OrganisationFactory(name="Reissue Ltd", tax_rate=Decimal("0.2000"))
    with time_machine.travel(JUNE_10, tick=False):
        old = issue(org, ("Phone system licence", 3, "25.00"), ("Wrong line", 1, "99.00"))
    old_values = Invoice.objects.filter(pk=old.pk).values().get()
    client.force_login(staff)
    form = client.get(url("billing_invoice_reissue", old.pk))
    assert form.status_code == 200
    formset = form.context["formset"]
    assert [f.initial["description"] for f in formset.initial_forms] == [
        "Phone system licence",
        "Wrong line",
    ]
    data = {
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "2",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "100",
        "lines-0-description": "Phone system licence",
        "lines-0-kind": "licence",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "25.00",
        "lines-1-description": "Wrong line",
        "lines-1-kind": "licence",
        "lines-1-quantity": "1",
        "lines-1-unit_price": "99.00",
        "lines-1-DELETE": "on",
        "lines-2-description": "IP desk phone",
        "lines-2-kind": "device",
        "lines-2-quantity": "1",
        "lines-2-unit_price": "129.00",
        "reason": "two licences, not three; the phone was missing",
    }

    review = client.post(url("billing_invoice_reissue", old.pk), {**data, "_review": "1"})

    assert review.status_code == 200
    quote = review.context["quote"]
    assert [(line.description, line.amount) for line in quote.lines] == [
        ("Phone system licence", Decimal("50.00")),
        ("IP desk phone", Decimal("129.00")),
    ]
    assert (quote.subtotal, quote.tax, quote.total) == (
        Decimal("179.00"),
        Decimal("35.80"),
        Decimal("214.80"),
    )
    assert '<td class="num" id="quote-total">214.80 EUR</td>' in page_text(review)
    assert Invoice.objects.filter(organisation=org).count() == 1  # nothing issued yet

    with time_machine.travel(JUNE_10 + dt.timedelta(days=2), tick=False):
        confirmed = client.post(url("billing_invoice_reissue", old.pk), {**data, "_confirm": "1"})

    corrected = Invoice.objects.get(replaces=old)
    assert confirmed.status_code == 302
    assert confirmed.url == url("billing_invoice_change", corrected.pk)
    assert messages_of(confirmed) == [
        f"Invoice {old.number} credited by {old.credit_notes.get().number} and replaced by "
        f"{corrected.number} (total 214.80 EUR)."
    ]
    assert corrected.sequence == old.sequence + 1
    assert corrected.number == f"{org.invoice_prefix}-{old.sequence + 1:06d}"
    assert (corrected.kind, corrected.status, corrected.total, corrected.tax) == (
        InvoiceKind.CORRECTION,
        InvoiceStatus.ISSUED,
        Decimal("214.80"),
        Decimal("35.80"),
    )
    assert [
        (line.position, line.description, line.kind, line.quantity, line.amount)
        for line in corrected.lines.order_by("position")
    ] == [
        (1, "Phone system licence", "licence", 2, Decimal("50.00")),
        (2, "IP desk phone", "device", 1, Decimal("129.00")),
    ]
    # The old invoice is unchanged but for its status: never edited (docs/rules.md, billing);
    # its credit note takes back all of it.
    now_values = Invoice.objects.filter(pk=old.pk).values().get()
    changed = {k for k in old_values if old_values[k] != now_values[k]}
    assert changed == {"status"}
    assert now_values["status"] == InvoiceStatus.CREDITED
    assert old.credit_notes.get().total == old.total
    assert [(line.description, line.quantity) for line in old.lines.order_by("position")] == [
        ("Phone system licence", 3),
        ("Wrong line", 1),
    ]
    page = page_text(client.get(url("billing_invoice_change", old.pk)))
    assert corrected.number in page  # "replaced by"


def test_a_correction_without_lines_is_refused(client, staff, world_a):
    client.force_login(staff)
    before = db_state()
    response = client.post(
        url("billing_invoice_reissue", world_a.invoice.pk),
        {
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-0-description": "Only line",
            "lines-0-kind": "licence",
            "lines-0-quantity": "1",
            "lines-0-unit_price": "1.00",
            "lines-0-DELETE": "on",
            "reason": "x",
            "_confirm": "1",
        },
    )
    assert response.status_code == 200
    assert "A corrected invoice has at least one line." in page_text(response)
    assert db_state() == before


def test_reissuing_a_credited_invoice_is_refused_and_issues_nothing(client, staff, world_a):
    credit_note_issue(invoice=world_a.invoice, actor=None, reason="x", whole=True)
    client.force_login(staff)
    before = db_state()
    response = client.post(
        url("billing_invoice_reissue", world_a.invoice.pk),
        {
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-description": "New",
            "lines-0-kind": "licence",
            "lines-0-quantity": "1",
            "lines-0-unit_price": "1.00",
            "reason": "again",
            "_confirm": "1",
        },
    )
    assert response.status_code == 302
    assert messages_of(response)[0] == (
        f"Invoice {world_a.invoice.number} is credited in full already."
    )
    assert db_state() == before


@pytest.mark.parametrize("role", ["owner", "admin", "finance"])
def test_members_neither_credit_nor_reissue(client, world_a, role):
    client.force_login(getattr(world_a, role))
    page = page_text(client.get(url("billing_invoice_change", world_a.invoice.pk)))
    assert url("billing_invoice_credit", world_a.invoice.pk) not in page
    assert "Credit and reissue" not in page
    before = db_state()
    for view in ("billing_invoice_credit", "billing_invoice_reissue"):
        target = url(view, world_a.invoice.pk)
        assert client.get(target).status_code == 403
        assert client.post(target, {"reason": "x", "_confirm": "1"}).status_code == 403
    assert db_state() == before


# --- tenancy of the invoice pages ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "finance"])
@pytest.mark.parametrize("view", ["pdf", "csv", "payment", "credit", "reissue"])
def test_a_invoice_pages_do_not_exist_for_b(client, world_a, world_b, role, view):
    client.force_login(getattr(world_b, role))
    before = db_state()
    target = url(f"billing_invoice_{view}", world_a.invoice.pk)
    for response in (
        client.get(target),
        client.post(target, {"method": "card", "what": "whole", "reason": "x", "_confirm": "1"}),
    ):
        assert response.status_code == 302
        assert response.url == reverse("admin:index")
        assert any(DOES_NOT_EXIST in m for m in messages_of(response))
    assert db_state() == before
    world_a.invoice.refresh_from_db()
    assert world_a.invoice.status == InvoiceStatus.ISSUED


# --- commitments (rule 16) -----------------------------------------------------------------------


def test_staff_create_change_and_delete_a_commitment(client, staff, world_a):
    org = world_a.organisation
    client.force_login(staff)
    ends_on = dt.date.today() + dt.timedelta(days=365)
    response = client.post(
        url("billing_commitment_add"),
        {
            "organisation": org.pk,
            "licence_type": licence_type("phone_system").pk,
            "quantity": "5",
            "ends_on": ends_on.isoformat(),
        },
    )
    assert response.status_code == 302, page_text(response)
    commitment = Commitment.objects.get(organisation=org, licence_type__code="phone_system")
    assert (commitment.quantity, commitment.ends_on) == (5, ends_on)
    created = AuditEvent.objects.get(action="commitment.created", target_id=str(commitment.pk))
    assert created.actor == staff

    response = client.post(
        url("billing_commitment_change", commitment.pk),
        {"quantity": "7", "ends_on": (ends_on + dt.timedelta(days=31)).isoformat()},
    )
    assert response.status_code == 302
    commitment.refresh_from_db()
    assert (commitment.quantity, commitment.ends_on) == (7, ends_on + dt.timedelta(days=31))
    assert AuditEvent.objects.filter(action="commitment.updated").count() == 1

    response = client.post(url("billing_commitment_delete", commitment.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Commitment.objects.filter(pk=commitment.pk).exists()
    assert AuditEvent.objects.filter(action="commitment.deleted").count() == 1


def test_a_commitment_ending_in_the_past_is_refused(client, staff, world_a):
    client.force_login(staff)
    before = db_state()
    response = client.post(
        url("billing_commitment_change", world_a.commitment.pk),
        {"quantity": "3", "ends_on": "2020-01-01"},
    )
    assert response.status_code == 302
    assert messages_of(response) == [
        "The commitment must end after today (the organisation's local date)."
    ]
    assert db_state() == before


@pytest.mark.parametrize("role", ["owner", "admin", "finance"])
def test_members_read_their_commitments_and_change_nothing(client, world_a, role):
    client.force_login(getattr(world_a, role))
    commitment = world_a.commitment
    listing = client.get(url("billing_commitment_changelist"))
    assert listing.status_code == 200
    assert [c.pk for c in listing.context["cl"].result_list] == [commitment.pk]
    page = client.get(url("billing_commitment_change", commitment.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page_text(page)
    before = db_state()
    for response in (
        client.post(
            url("billing_commitment_change", commitment.pk),
            {"quantity": "1", "ends_on": "2030-01-01"},
        ),
        client.post(url("billing_commitment_delete", commitment.pk), {"post": "yes"}),
        client.post(
            url("billing_commitment_add"),
            {
                "licence_type": licence_type("phone_system").pk,
                "quantity": "1",
                "ends_on": "2030-01-01",
            },
        ),
    ):
        assert response.status_code == 403
    assert db_state() == before


def test_commitment_services_refuse_a_member(world_a):
    with pytest.raises(PermissionDenied):
        billing.commitment_update(
            commitment=world_a.commitment,
            quantity=9,
            ends_on=dt.date(2040, 1, 1),
            actor=world_a.owner,
        )
    world_a.commitment.refresh_from_db()
    assert world_a.commitment.quantity == 1


# --- device orders (rule 22) ---------------------------------------------------------------------


def test_owner_orders_devices_after_reviewing_the_exact_amount(client, world_a):
    client.force_login(world_a.owner)
    form = client.get(url("billing_charge_add"))
    assert form.status_code == 200
    device = Device.objects.get(code="ip_desk_phone")
    data = {"device": device.pk, "quantity": "3"}

    review = client.post(url("billing_charge_add"), {**data, "_review": "1"})

    assert review.status_code == 200
    assert '<td class="num" id="order-amount">387.00 EUR</td>' in page_text(review)
    assert Charge.objects.filter(organisation=world_a.organisation).count() == 1  # the world's

    confirmed = client.post(url("billing_charge_add"), {**data, "_confirm": "1"})

    assert confirmed.status_code == 302
    charge = Charge.objects.filter(organisation=world_a.organisation).latest("created_at")
    assert (charge.kind, charge.device, charge.quantity, charge.unit_price, charge.amount) == (
        ChargeKind.DEVICE,
        device,
        3,
        Decimal("129.00"),
        Decimal("387.00"),
    )
    assert charge.invoice is None and charge.created_by == world_a.owner
    assert messages_of(confirmed) == [
        "Ordered IP desk phone × 3: 387.00 EUR, billed on the next invoice."
    ]
    listing = client.get(url("billing_charge_changelist"), {"billed": "no"})
    assert {c.pk for c in listing.context["cl"].result_list} == {
        charge.pk,
        world_a.device_order.pk,
    }


@pytest.mark.parametrize("quantity", ["0", "-2", "1001", "two"])
def test_a_bad_device_quantity_is_refused_and_nothing_is_ordered(client, world_a, quantity):
    client.force_login(world_a.admin)
    before = db_state()
    response = client.post(
        url("billing_charge_add"),
        {
            "device": Device.objects.get(code="obihai_ata").pk,
            "quantity": quantity,
            "_confirm": "1",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["quantity"]
    expected = {
        "0": "Order at least one device: the quantity must be 1 or more.",
        "-2": "Order at least one device: the quantity must be 1 or more.",
        "1001": "At most 1000 devices in one order.",
        "two": "Enter a whole number.",
    }[quantity]
    assert errors == [expected]
    assert db_state() == before


def test_finance_reads_charges_but_orders_no_device(client, world_a):
    client.force_login(world_a.finance)
    listing = client.get(url("billing_charge_changelist"))
    assert listing.status_code == 200
    assert "Order devices" not in page_text(listing)
    before = db_state()
    response = client.post(
        url("billing_charge_add"),
        {"device": Device.objects.get(code="obihai_ata").pk, "quantity": "1", "_confirm": "1"},
    )
    assert response.status_code == 403
    assert db_state() == before


def test_staff_order_devices_for_a_chosen_organisation(client, staff, world_a):
    client.force_login(staff)
    response = client.post(
        url("billing_charge_add"),
        {
            "organisation": world_a.organisation.pk,
            "device": Device.objects.get(code="obihai_ata").pk,
            "quantity": "2",
            "_confirm": "1",
        },
    )
    assert response.status_code == 302
    charge = Charge.objects.filter(organisation=world_a.organisation).latest("created_at")
    assert (charge.amount, charge.created_by) == (Decimal("118.00"), staff)


# --- usage (rule 21) and the calling-credit cap --------------------------------------------------


def test_usage_list_shows_the_period_total_against_the_cap_and_filters(client, world_a):
    client.force_login(world_a.finance)
    response = client.get(url("billing_usagerecord_changelist"))
    assert response.status_code == 200
    credits = response.context["calling_credits"]
    assert (credits["used"], credits["cap"], credits["percent"]) == (
        Decimal("1.25"),
        Decimal("250.00"),
        0,
    )
    assert '<span class="big" id="calling-credits">1.25 / 250.00 EUR</span>' in page_text(response)
    assert [u.pk for u in response.context["cl"].result_list] == [world_a.usage.pk]
    for params, expected in (
        ({"kind__exact": "call"}, [world_a.usage.pk]),
        ({"kind__exact": "sms"}, []),
        ({"direction__exact": "inbound"}, []),
        ({"member__id__exact": world_a.user.pk}, [world_a.usage.pk]),
        ({"member__id__exact": world_a.owner.pk}, []),
        ({"number__id__exact": world_a.usage.number_id}, [world_a.usage.pk]),
        ({"billed": "no"}, [world_a.usage.pk]),
    ):
        listed = client.get(url("billing_usagerecord_changelist"), params)
        assert [u.pk for u in listed.context["cl"].result_list] == expected, params


def organisation_form_data(response) -> dict:
    """Every editable field of the organisation page, as the browser would post it."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is not None:
            data[name] = value.pk if hasattr(value, "pk") else value
    return data


def test_staff_raise_the_calling_credit_cap(client, staff, world_a):
    org = world_a.organisation
    client.force_login(staff)
    change_url = url("accounts_organisation_change", org.pk)
    data = {**organisation_form_data(client.get(change_url)), "calling_credit_cap": "400.00"}
    response = client.post(change_url, data)
    assert response.status_code == 302, page_text(response)
    org.refresh_from_db()
    assert org.calling_credit_cap == Decimal("400.00")
    event = AuditEvent.objects.get(action="organisation.limits_updated")
    assert event.changes == {
        "before": {"calling_credit_cap": "250.00"},
        "after": {"calling_credit_cap": "400.00"},
    }
    usage = client.get(url("billing_usagerecord_changelist"), {"organisation__id__exact": org.pk})
    assert usage.context["calling_credits"]["cap"] == Decimal("400.00")


def test_an_owner_cannot_raise_the_cap(client, world_a):
    org = world_a.organisation
    client.force_login(world_a.owner)
    change_url = url("accounts_organisation_change", org.pk)
    page = client.get(change_url)
    assert "calling_credit_cap" not in page.context["adminform"].form.fields  # read-only
    data = {**organisation_form_data(page), "calling_credit_cap": "9999.00"}
    client.post(change_url, data)
    org.refresh_from_db()
    assert org.calling_credit_cap == Decimal("250.00")


# --- the dashboard -------------------------------------------------------------------------------


@pytest.fixture
def june_org(db):
    org = OrganisationFactory(
        name="Zorblax June",
        billing_anchor=dt.date(2025, 1, 1),
        timezone="Europe/Paris",
        currency="EUR",
        tax_rate=Decimal("0.2000"),
    )
    org.next_renewal_at = local_midnight(dt.date(2025, 7, 1), "Europe/Paris")
    org.save(update_fields=["next_renewal_at"])
    return org


def test_dashboard_shows_upcoming_invoice_overdue_and_calling_credits(client, june_org):
    owner = UserFactory(organisation=june_org, role="owner", email="owner@june.example")
    with time_machine.travel(JUNE_10, tick=False):
        bought = licensing.licences_purchase(
            organisation=june_org,
            licence_type=licence_type("user_standard"),
            quantity=2,
            actor=owner,
        )
        licensing.device_order(
            organisation=june_org,
            device=Device.objects.get(code="ip_desk_phone"),
            quantity=1,
            actor=owner,
        )
        stock("FR", "mobile", 1, start=90)
        number = numbering.number_assign(
            organisation=june_org,
            actor=owner,
            country="FR",
            number_type="mobile",
            member=owner,
            licence=bought.purchased[0],
        ).number
        usage_record(
            number=number,
            kind="call",
            direction="outbound",
            started_at=JUNE_10 - dt.timedelta(hours=1),
            cost=Decimal("60.00"),
        )
    # The purchase invoice, due 24 June, is overdue on 30 June.
    with time_machine.travel(dt.datetime(2025, 6, 30, 9, 0, tzinfo=PARIS), tick=False):
        client.force_login(owner)
        response = client.get(reverse("admin:index"))

    context = response.context
    # 2 user licences × 19.00 + 1 IP desk phone 129.00 + June's usage 60.00 = 227.00;
    # tax 20 % = 45.40; total 272.40.
    quote = context["upcoming_quote"]
    assert (quote.subtotal, quote.tax, quote.total) == (
        Decimal("227.00"),
        Decimal("45.40"),
        Decimal("272.40"),
    )
    assert context["upcoming_on"] == dt.date(2025, 7, 1)
    assert context["overdue_count"] == 1
    assert [number for _, number in context["overdue_invoices"]] == [bought.invoice.number]
    credits = context["calling_credits"]
    assert (credits["used"], credits["cap"], credits["left"], credits["percent"]) == (
        Decimal("60.00"),
        Decimal("250.00"),
        Decimal("190.00"),
        24,
    )
    text = page_text(response)
    assert '<span class="big" id="upcoming-total">272.40 EUR</span>' in text
    assert url("billing_invoice_upcoming") in text
    assert f'<a href="{url("billing_invoice_changelist", overdue="yes")}">1</a>' in text
    assert bought.invoice.number in text
    assert '<span class="big" id="calling-credits">60.00 / 250.00 EUR</span>' in text
    assert 'style="width: 24%"' in text

    with time_machine.travel(dt.datetime(2025, 6, 30, 9, 0, tzinfo=PARIS), tick=False):
        upcoming = client.get(url("billing_invoice_upcoming"))
    assert upcoming.status_code == 200
    assert '<td class="num" id="quote-total">272.40 EUR</td>' in page_text(upcoming)


def test_staff_dashboard_of_a_picked_organisation_links_to_its_rows(client, staff, world_a):
    client.force_login(staff)
    org = world_a.organisation
    response = client.get(reverse("admin:index"), {"organisation": str(org.pk)})
    assert response.context["overdue_url"] == url(
        "billing_invoice_changelist", overdue="yes", organisation__id__exact=org.pk
    )
    assert response.context["upcoming_url"] == url("billing_invoice_upcoming", organisation=org.pk)
    assert client.get(response.context["upcoming_url"]).status_code == 200


# --- bounds (issue 11 section 6): a field error, never a 500 nor a constraint's name -------------


def change_form_data(response) -> dict:
    """The change page's form and inline formsets, as the browser would post them."""
    data = organisation_form_data(response)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value is not None:
                    data[form.add_prefix(name)] = value.pk if hasattr(value, "pk") else value
    return data


def test_staff_cannot_set_a_yearly_price_no_invoice_could_hold(pinned, client, staff):
    from licensing.models import LicencePrice, LicenceType

    room = LicenceType.objects.get(code="room_phone")
    prices = list(LicencePrice.objects.filter(licence_type=room).order_by("pk").values())
    client.force_login(staff)
    change_url = url("licensing_licencetype_change", room.pk)
    data = change_form_data(client.get(change_url))
    index = next(i for i in range(10) if data.get(f"prices-{i}-currency") == "EUR")
    data[f"prices-{index}-yearly"] = "99999999.99"

    response = client.post(change_url, data)

    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0].formset
    assert inline.forms[index].errors == {
        "yearly": ["A price is at most 99999.99: invoices could not hold more."]
    }
    assert list(LicencePrice.objects.filter(licence_type=room).order_by("pk").values()) == prices


@pytest.mark.parametrize(
    ("cap", "message"),
    [
        ("-5.00", "The calling-credit cap cannot be negative."),
        (
            "1.00",
            "This period has already used 1.25 EUR of calling credit; the cap cannot be set "
            "below that (1.00 EUR).",
        ),
    ],
)
def test_staff_get_a_sentence_for_a_cap_below_zero_or_below_the_periods_usage(
    pinned, client, staff, world_a, cap, message
):
    org = world_a.organisation
    client.force_login(staff)
    change_url = url("accounts_organisation_change", org.pk)
    data = {**organisation_form_data(client.get(change_url)), "calling_credit_cap": cap}
    before = db_state()

    response = client.post(change_url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"calling_credit_cap": [message]}
    assert "organisation_cap_not_negative" not in page_text(response)
    assert db_state() == before


def test_a_corrected_line_no_invoice_could_hold_is_a_field_error(pinned, client, staff, world_a):
    client.force_login(staff)
    before = db_state()
    response = client.post(
        url("billing_invoice_reissue", world_a.invoice.pk),
        {
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "100",
            "lines-0-description": "Too much",
            "lines-0-kind": "licence",
            "lines-0-quantity": "100000",
            "lines-0-unit_price": "9999999999.99",
            "reason": "typo",
            "_confirm": "1",
        },
    )
    assert response.status_code == 200
    assert [e.code for e in response.context["formset"].forms[0].errors.as_data()["quantity"]] == [
        "out_of_range"
    ]
    assert db_state() == before


# --- billing details ------------------------------------------------------------------------------


BILLING_DETAILS = {
    "legal_name": "Kunde GmbH",
    "street": "1 Hauptstraße",
    "postcode": "10115",
    "city": "Berlin",
    "country": "DE",
    "vat_number": "DE 136 695 976",
    "registration_number": "",
    "contacts": "ap@kunde.example\nCFO@kunde.example",
    "purchase_order": "PO-7",
}


@pytest.mark.parametrize("role", ["owner", "finance"])
def test_owners_and_finance_change_the_billing_details_in_the_console(client, world_a, role):
    from billing.models import BillingDetails

    client.force_login(getattr(world_a, role))
    form = client.get(url("billing_billingdetails_add"))
    assert form.status_code == 200
    assert f'value="{world_a.organisation.name}"' in page_text(form)  # starts from what is known

    response = client.post(url("billing_billingdetails_add"), BILLING_DETAILS)

    assert response.status_code == 302
    details = BillingDetails.objects.get(organisation=world_a.organisation)
    assert details.vat_number == "DE136695976"
    assert details.contacts == ["ap@kunde.example", "cfo@kunde.example"]
    assert details.vat_treatment == "reverse_charge"
    [message] = messages_of(response)
    assert "invoices now go to Kunde GmbH" in message and "Reverse charge" in message
    listing = page_text(client.get(url("billing_billingdetails_changelist")))
    assert "Kunde GmbH" in listing and "Reverse charge" in listing
    world_a.organisation.refresh_from_db()
    assert world_a.organisation.tax_rate == Decimal("0.0000")


def test_a_bad_vat_number_is_a_form_error_and_changes_nothing(client, world_a):
    from billing.models import BillingDetails

    client.force_login(world_a.owner)
    before = db_state()
    response = client.post(
        url("billing_billingdetails_add"), {**BILLING_DETAILS, "vat_number": "DE136695977"}
    )
    assert response.status_code == 200
    assert "is not a valid VAT number for DE" in page_text(response)
    assert not BillingDetails.objects.exists()
    assert db_state() == before


def test_an_admin_reads_but_cannot_change_billing_details(client, world_a):
    client.force_login(world_a.admin)
    assert client.get(url("billing_billingdetails_changelist")).status_code == 200
    assert client.get(url("billing_billingdetails_add")).status_code == 403
    assert client.post(url("billing_billingdetails_add"), BILLING_DETAILS).status_code == 403


def test_another_organisations_billing_details_do_not_exist(client, world_a, world_b):
    from billing.profile import billing_details_update

    version = billing_details_update(
        organisation=world_a.organisation,
        actor=world_a.owner,
        **{**BILLING_DETAILS, "contacts": []},
    )
    client.force_login(world_b.finance)
    response = client.get(url("billing_billingdetails_change", version.pk))
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert "Kunde GmbH" not in page_text(client.get(url("billing_billingdetails_changelist")))
