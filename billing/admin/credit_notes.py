"""Credit notes in the console (docs/rules.md, "Credit notes"): everyone who reads invoices
reads them, with their PDF and CSV; platform staff issue one from an invoice's page through
`CREDIT` (what to credit -> review with the amounts and the amount due after -> issue). The
e-mails of documents are listed with whether they went (`DocumentSendAdmin`)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from billing.exports import credit_note_export_lines, csv_chunks
from billing.forms import CreditNoteForm
from billing.models import CreditNote, CreditNoteLine, DocumentSend
from billing.payments.refunds import (
    credit_note_issue_refunding,
    credit_note_refund_preview,
    refund_outcome,
)
from billing.pdf import credit_note_pdf, credit_note_pdf_filename
from telecom.admin import (
    ActionPages,
    ReadOnlyInline,
    ReviewThenConfirm,
    TenantAdmin,
)

CREDIT = ReviewThenConfirm(
    form=CreditNoteForm,
    form_kwargs=lambda model_admin, request: {},  # the invoice is given by the invoice's page
    arguments=lambda form: form.arguments(),
    preview=credit_note_refund_preview,
    service=credit_note_issue_refunding,
    message=lambda note, form: (
        f"Credit note {note.number} issued: {note.total} {note.currency} off invoice "
        f"{form.invoice.number}."
        + "".join(f" {refund_outcome(refund)}" for refund in note.refunds.all())
    ),
    success_url=lambda note, form: reverse("admin:billing_creditnote_change", args=[note.pk]),
    template="invoice/credit.html",
    title="Issue a credit note",
    review_title="Review the credit note",
    context=lambda request, form, review: {"original": form.invoice},
)


class CreditNoteLineInline(ReadOnlyInline):
    model = CreditNoteLine
    show_change_link = False
    fields = ("position", "description", "quantity", "unit_price", "amount")


@admin.register(CreditNote)
class CreditNoteAdmin(ActionPages, TenantAdmin):
    page_templates = "admin/billing"
    list_display = ("number", "organisation", "invoice_link", "issued_on", "total_with_currency")
    list_filter = ("issued_on", "currency", "organisation")
    search_fields = ("number", "invoice__number")
    list_select_related = ("organisation", "invoice")
    fields = (
        "number",
        "organisation",
        "invoice_link",
        "reason",
        "issued_at",
        "issued_on",
        "currency",
        "subtotal",
        "tax_rate",
        "tax",
        "total",
        "created_by",
        "pdf_link",
    )
    readonly_fields = fields
    inlines = (CreditNoteLineInline,)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="invoice", ordering="invoice__number")
    def invoice_link(self, obj):
        target = reverse("admin:billing_invoice_change", args=[obj.invoice_id])
        return format_html('<a href="{}">{}</a>', target, obj.invoice.number)

    @admin.display(description="total credited", ordering="total")
    def total_with_currency(self, obj):
        return f"{obj.total} {obj.currency}"

    @admin.display(description="PDF")
    def pdf_link(self, obj):
        target = reverse("admin:billing_creditnote_pdf", args=[obj.pk])
        return format_html('<a href="{}">Download</a>', target)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/pdf/", wrap(self.pdf_view), name="billing_creditnote_pdf"),
            path("<path:object_id>/csv/", wrap(self.csv_view), name="billing_creditnote_csv"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, object_id):
        note, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        if not self.has_view_permission(request):
            raise PermissionDenied
        response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{credit_note_pdf_filename(note)}"'
        return response

    def csv_view(self, request, object_id):
        note, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        if not self.has_view_permission(request):
            raise PermissionDenied
        lines = credit_note_export_lines(organisation=note.organisation).filter(credit_note=note)
        response = HttpResponse("".join(csv_chunks(lines)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="credit-note-{note.number}.csv"'
        return response


@admin.register(DocumentSend)
class DocumentSendAdmin(TenantAdmin):
    """Every invoice and credit note e-mailed, to whom, and whether it went (billing/mail.py);
    a failed one is retried by its task. Platform staff see all organisations' and filter by
    status; those who read invoices see their own organisation's."""

    list_display = ("document", "organisation", "contact", "status", "attempts", "sent_at")
    list_filter = ("status", "created_at", "organisation")
    search_fields = ("contact", "invoice__number", "credit_note__number")
    list_select_related = ("organisation", "invoice", "credit_note")
    fields = (
        "organisation",
        "invoice",
        "credit_note",
        "contact",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
