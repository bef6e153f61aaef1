"""Invoices. An issued invoice is never edited (docs/rules.md, billing): its page offers the PDF to
everyone who reads invoices, and to platform staff alone a payment record (rule 18: no customer
role ever marks an invoice paid), a credit note (billing/admin/credit_notes.py) or "credit and
reissue" with corrected lines (docs/rules.md, "Credit notes"). Finance
exports invoice lines as CSV, for selected invoices or a date range (billing.exports)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Min, Q
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from accounts.roles import Cap, has_capability
from billing.admin.common import _picked_organisation, overdue_q
from billing.admin.credit_notes import CREDIT
from billing.admin.payments import InvoicePayments
from billing.credit_notes import CREDITABLE, invoice_reissue
from billing.documents import invoice_document
from billing.exports import csv_chunks, export_filename, export_lines, invoice_lines_csv
from billing.forms import (
    CorrectedLinesFormSet,
    CreditReasonForm,
    DateRangeForm,
    PaymentForm,
    corrected_lines_initial,
    corrected_quote,
    parse_date,
)
from billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)
from billing.pdf import invoice_pdf, invoice_pdf_filename
from billing.renewal import renewal_period, upcoming_quote
from billing.selectors import invoice_amount_due, organisation_today
from billing.services import invoice_record_payment
from telecom.admin import (
    ActionPages,
    ReadOnlyInline,
    ServiceRefused,
    TenantAdmin,
    YesNoFilter,
    is_platform_staff,
    organisation_of,
    posted,
)


class OverdueFilter(YesNoFilter):
    """Issued and past due, by each invoice's organisation's local date."""

    title = "overdue"
    parameter_name = "overdue"
    options = (("yes", "Overdue"), ("no", "Not overdue"))

    def condition(self) -> Q:
        return overdue_q()


class IssuedRangeFilter(admin.ListFilter):
    """Invoices issued from one local date to another, both included (as the CSV export)."""

    title = "issue date range"
    template = "admin/billing/invoice/issued_range_filter.html"
    parameters = ("issued_from", "issued_to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.raw = {}
        for name in self.parameters:
            if name in params:
                value = params.pop(name)[-1]
                self.raw[name] = value
                self.used_parameters[name] = value
        self.issued_from = parse_date(self.raw.get("issued_from"))
        self.issued_to = parse_date(self.raw.get("issued_to"))

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def queryset(self, request, queryset):
        if self.issued_from:
            queryset = queryset.filter(issued_on__gte=self.issued_from)
        if self.issued_to:
            queryset = queryset.filter(issued_on__lte=self.issued_to)
        return queryset

    def choices(self, changelist):
        ours = {*self.parameters, PAGE_VAR}
        yield {
            "issued_from": self.raw.get("issued_from", ""),
            "issued_to": self.raw.get("issued_to", ""),
            "preserved": [(k, v) for k, v in changelist.params.items() if k not in ours],
            "active": bool(self.raw),
            "clear_url": changelist.get_query_string(remove=list(ours)),
        }


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    show_change_link = False
    fields = (
        "position",
        "description",
        "kind",
        "licence_type",
        "quantity",
        "unit_price",
        "period_start",
        "period_end",
        "amount",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("licence_type")


@admin.register(Invoice)
class InvoiceAdmin(InvoicePayments, ActionPages, TenantAdmin):
    page_templates = "admin/billing"
    list_display = (
        "number",
        "organisation",
        "kind",
        "issued_on",
        "due_on",
        "status",
        "overdue",
        "total_with_currency",
        "pdf_link",
    )
    list_filter = (
        "status",
        OverdueFilter,
        "kind",
        IssuedRangeFilter,
        "due_on",
        "currency",
        "organisation",
    )
    search_fields = ("number",)
    date_hierarchy = "issued_on"
    list_select_related = ("organisation",)
    ordering = ("-issued_at", "-sequence")
    actions = ("export_selected_lines",)
    fields = (
        "number",
        "organisation",
        "kind",
        "status",
        "overdue",
        "issued_at",
        "issued_on",
        "due_on",
        "period_start",
        "period_end",
        "currency",
        "subtotal",
        "tax_rate",
        "tax",
        "total",
        "paid_at",
        "amount_due",
        "credit_notes_links",
        "replaces",
        "replaced_by_link",
        "created_by",
    )
    readonly_fields = fields
    inlines = (InvoiceLineInline,)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def can_record_payment(self, request) -> bool:
        """Platform staff only: customer roles (owner, admin, finance) read invoices, never mark
        one paid (accounts.roles, Cap.PAYMENTS_RECORD)."""
        return has_capability(request.user, Cap.PAYMENTS_RECORD)

    # --- columns ----------------------------------------------------------------------------

    @admin.display(description="overdue")
    def overdue(self, obj):
        if obj.is_overdue(organisation_today(obj.organisation)):
            return format_html('<span class="overdue-flag">{}</span>', "overdue")
        return "-"

    @admin.display(description="total", ordering="total")
    def total_with_currency(self, obj):
        return f"{obj.total} {obj.currency}"

    @admin.display(description="PDF")
    def pdf_link(self, obj):
        return format_html('<a href="{}" class="invoice-pdf">Download</a>', self._url("pdf", obj))

    @admin.display(description="amount due")
    def amount_due(self, obj):
        return f"{invoice_amount_due(obj)} {obj.currency}"

    @admin.display(description="credit notes")
    def credit_notes_links(self, obj):
        notes = list(obj.credit_notes.order_by("sequence"))
        if not notes:
            return "-"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({} {})',
            (
                (
                    reverse("admin:billing_creditnote_change", args=[n.pk]),
                    n.number,
                    n.total,
                    n.currency,
                )
                for n in notes
            ),
        )

    @admin.display(description="replaced by")
    def replaced_by_link(self, obj):
        corrected = getattr(obj, "replaced_by", None)
        if corrected is None:
            return "-"
        return format_html('<a href="{}">{}</a>', self._url("change", corrected), corrected)

    # --- pages ------------------------------------------------------------------------------

    def _url(self, name: str, invoice: Invoice | None = None) -> str:
        return reverse(
            f"admin:billing_invoice_{name}", args=[invoice.pk] if invoice is not None else []
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name="billing_invoice_export"),
            path("upcoming/", wrap(self.upcoming_view), name="billing_invoice_upcoming"),
            path("<path:object_id>/pdf/", wrap(self.pdf_view), name="billing_invoice_pdf"),
            path("<path:object_id>/csv/", wrap(self.csv_view), name="billing_invoice_csv"),
            path(
                "<path:object_id>/payment/",
                wrap(self.payment_view),
                name="billing_invoice_payment",
            ),
            path("<path:object_id>/credit/", wrap(self.credit_view), name="billing_invoice_credit"),
            path(
                "<path:object_id>/reissue/",
                wrap(self.reissue_view),
                name="billing_invoice_reissue",
            ),
            *self.payment_urls(),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        params = {k: request.GET[k] for k in IssuedRangeFilter.parameters if k in request.GET}
        context = {"export_url": self._url("export") + _query(params)}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        context = {}
        if obj is not None:
            context = {
                "invoice_tools": self.object_tools(request, obj),
                "invoice_document": invoice_document(obj),
                **self.payment_context(obj),
            }
        return super().change_view(
            request, object_id, form_url, {**context, **(extra_context or {})}
        )

    def get_queryset(self, request):
        # Django applies list_select_related only to a queryset without select_related: name
        # the organisation here too (the overdue column reads its time zone).
        return (
            super()
            .get_queryset(request)
            .select_related("organisation", "replaced_by", "billing_details")
        )

    def object_tools(self, request, invoice: Invoice) -> list[tuple[str, str]]:
        tools = [
            (self._url("pdf", invoice), "Download PDF"),
            (self._url("csv", invoice), "Download CSV"),
        ]
        tools += self.payment_tools(request, invoice)
        if invoice.status == InvoiceStatus.ISSUED and self.can_record_payment(request):
            tools.append((self._url("payment", invoice), "Record payment"))
        if invoice.status in CREDITABLE and is_platform_staff(request):
            tools.append((self._url("credit", invoice), "Issue a credit note"))
            tools.append((self._url("reissue", invoice), "Credit and reissue"))
        return tools

    def _require(self, allowed: bool) -> None:
        # Invoice pages look the invoice up first: another organisation's answers "does not
        # exist" (as TenantAdmin's own pages do), one's own without the right is a 403.
        if not allowed:
            raise PermissionDenied

    def pdf_view(self, request, object_id):
        """The invoice as a printable A4 PDF (billing.pdf)."""
        invoice, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        self._require(self.has_view_permission(request))
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice_pdf_filename(invoice)}"'
        return response

    def csv_view(self, request, object_id):
        """This invoice's lines as CSV, in the columns of the finance export (billing.exports)."""
        invoice, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        self._require(self.has_view_permission(request))
        lines = export_lines(
            organisation=invoice.organisation,
            issued_from=invoice.issued_on,
            issued_to=invoice.issued_on,
        ).filter(invoice=invoice)
        return _csv_response(csv_chunks(lines.iterator()), f"invoice-{invoice.number}.csv")

    def export_view(self, request):
        """The CSV of invoice lines for a range of issue dates (billing.exports)."""
        self._require(self.has_view_permission(request))
        form = DateRangeForm(request.GET if "issued_from" in request.GET else None)
        if form.is_bound and form.is_valid():
            issued_from, issued_to = (
                form.cleaned_data["issued_from"],
                form.cleaned_data["issued_to"],
            )
            chunks = invoice_lines_csv(
                organisation=organisation_of(request), issued_from=issued_from, issued_to=issued_to
            )
            return _csv_response(
                chunks, export_filename(issued_from=issued_from, issued_to=issued_to)
            )
        return self.action_page(
            request, "invoice/export.html", "Export invoice lines as CSV", form=form
        )

    @admin.action(description="Export lines of the selected invoices as CSV", permissions=["view"])
    def export_selected_lines(self, request, queryset):
        span = queryset.aggregate(first=Min("issued_on"), last=Max("issued_on"))
        if span["first"] is None:  # posted ids, none of them the member's organisation's
            self.message_user(
                request,
                "Items must be selected in order to perform actions on them. No items have "
                "been changed.",
                messages.WARNING,
            )
            return None
        lines = export_lines(
            organisation=organisation_of(request),
            issued_from=span["first"],
            issued_to=span["last"],
        ).filter(invoice__in=queryset.values("pk"))
        filename = export_filename(issued_from=span["first"], issued_to=span["last"])
        return _csv_response(csv_chunks(lines.iterator(chunk_size=2000)), filename)

    def upcoming_view(self, request):
        """Exactly what the next renewal would invoice as of now (billing.renewal)."""
        self._require(self.has_view_permission(request))
        organisation = _picked_organisation(request)
        if organisation is None:
            self.message_user(
                request, "Choose an organisation on the dashboard first.", messages.WARNING
            )
            return HttpResponseRedirect(reverse("admin:index"))
        quote = upcoming_quote(organisation)
        return self.action_page(
            request,
            "invoice/upcoming.html",
            "Upcoming invoice",
            quote=quote,
            organisation=organisation,
            renewal_on=renewal_period(organisation).start,
        )

    # Payments (rule 18): platform staff name the method and reference, invoice_record_payment
    # records.

    def payment_view(self, request, object_id):
        invoice, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        self._require(self.can_record_payment(request))
        form = PaymentForm(posted(request))
        if request.method == "POST" and form.is_valid():
            try:
                self.call_service(
                    invoice_record_payment,
                    invoice=invoice,
                    actor=request.user,
                    method=form.cleaned_data["method"],
                    reference=form.cleaned_data["reference"],
                )
            except ServiceRefused as exc:
                self.refused(request, exc)
            else:
                self.message_user(
                    request,
                    f"Payment of {invoice.total} {invoice.currency} recorded: invoice "
                    f"{invoice.number} is paid.",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(self._url("change", invoice))
        return self.action_page(
            request,
            "invoice/payment.html",
            f"Record a payment for {invoice.number}",
            original=invoice,
            form=form,
        )

    # Credit notes, and "credit, then issue a new invoice" (docs/rules.md, "Credit notes").

    def credit_view(self, request, object_id):
        """Platform staff: what to credit -> review the credit note -> issue it."""
        invoice, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        self._require(is_platform_staff(request))
        return replace(CREDIT, form_kwargs=lambda model_admin, request: {"invoice": invoice})(
            self, request
        )

    def reissue_view(self, request, object_id):
        invoice, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        self._require(is_platform_staff(request))
        initial = corrected_lines_initial(invoice)
        formset = CorrectedLinesFormSet(posted(request), initial=initial, prefix="lines")
        form = CreditReasonForm(posted(request))
        quote = None
        if request.method == "POST" and formset.is_valid() and form.is_valid():
            quote = corrected_quote(invoice, formset)
            if "_confirm" in request.POST:
                try:
                    corrected = self.call_service(
                        invoice_reissue,
                        invoice=invoice,
                        quote=quote,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                except ServiceRefused as exc:
                    self.refused(request, exc)
                    return HttpResponseRedirect(self._url("change", invoice))
                note = corrected.replaces.credit_notes.order_by("-sequence").first()
                self.message_user(
                    request,
                    f"Invoice {invoice.number} credited by {note.number} and replaced by "
                    f"{corrected.number} (total {corrected.total} {corrected.currency}).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self._url("change", corrected))
        return self.action_page(
            request,
            "invoice/reissue.html",
            f"Review the correction of {invoice.number}" if quote else f"Correct {invoice.number}",
            original=invoice,
            form=form,
            formset=formset,
            quote=quote,
        )


def _query(params: dict) -> str:
    return f"?{urlencode(params)}" if params else ""


def _csv_response(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
