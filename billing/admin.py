"""Console pages for billing: invoices, commitments, charges (device orders) and usage.

An issued invoice is never edited (docs/rules.md, billing): its page offers the PDF to everyone who
reads invoices, and to platform staff alone a payment record (rule 18: no customer role ever marks
an invoice paid), a void or a void-and-reissue with corrected lines. Finance exports invoice
lines as CSV, for selected invoices or a date range (billing.exports). Every page reads through
the tenancy base and writes through one service.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import DateField, DateTimeField, F, Func, Max, Min, Q, Value
from django.db.models.functions import Cast
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import Organisation
from accounts.roles import Cap, has_capability
from billing.documents import invoice_document
from billing.exports import csv_chunks, export_filename, export_lines, invoice_lines_csv
from billing.forms import (
    CorrectedLinesFormSet,
    DateRangeForm,
    DeviceOrderForm,
    PaymentForm,
    VoidForm,
    corrected_lines_initial,
    corrected_quote,
    parse_date,
)
from billing.models import (
    Charge,
    Commitment,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    UsageRecord,
)
from billing.pdf import invoice_pdf, invoice_pdf_filename
from billing.renewal import renewal_period, upcoming_quote
from billing.selectors import organisation_period, organisation_today
from billing.services import (
    commitment_create,
    commitment_delete,
    commitment_update,
    device_order,
    invoice_record_payment,
    invoice_reissue,
    invoice_void,
    usage_used,
)
from licensing.models import DevicePrice
from telecom.admin import (
    ReadOnlyInline,
    ServiceRefused,
    TenantAdmin,
    YesNoFilter,
    is_platform_staff,
    organisation_from_param,
    organisation_of,
)

# --- shared helpers ------------------------------------------------------------------------------


def local_today_sql(at=None):
    """SQL: the local date of each row's organisation at `at` (now), from its own time zone.

    Overdue is "issued and past due" by the organisation's local date (docs/rules.md, billing); this
    answers it for every organisation in one query, so platform staff's list is exact too.
    """
    moment = Value(at or timezone.now(), output_field=DateTimeField())
    local = Func(
        F("organisation__timezone"), moment, function="timezone", output_field=DateTimeField()
    )
    return Cast(local, DateField())


def overdue_q(at=None) -> Q:
    return Q(status=InvoiceStatus.ISSUED, due_on__lt=local_today_sql(at))


class ActionPagesMixin:
    """Pages of one service call each (a form, a review, a confirmation), in the console's look."""

    page_templates = "admin/billing"

    def _page(self, request, template: str, title: str, **context) -> TemplateResponse:
        media = self.media
        for name in ("form", "formset"):
            if context.get(name) is not None:
                media += context[name].media
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            f"{self.page_templates}/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "subtitle": None,
                "media": media,
                "changelist_url": reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"
                ),
                **context,
            },
        )

    def _refused(self, request, exc: ServiceRefused) -> None:
        self.message_user(request, exc.message, messages.ERROR)


def _posted(request):
    return request.POST if request.method == "POST" else None


def _picked_organisation(request) -> Organisation | None:
    """Platform staff name the organisation in `?organisation=`; members have their own."""
    return organisation_of(request) or organisation_from_param(request.GET.get("organisation"))


@admin.display(description="invoice")
def invoice_billed_on(modeladmin, obj):
    """The invoice a charge or a usage record is on, linked; or "next invoice"."""
    if obj.invoice_id is None:
        return "next invoice"
    url = reverse("admin:billing_invoice_change", args=[obj.invoice_id])
    return format_html('<a href="{}">{}</a>', url, obj.invoice.number)


# --- invoices ------------------------------------------------------------------------------------


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
class InvoiceAdmin(ActionPagesMixin, TenantAdmin):
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
        "payment",
        "paid_at",
        "voided_at",
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

    @admin.display(description="payment")
    def payment(self, obj):
        payment = getattr(obj, "payment", None)
        if payment is None:
            return "-"
        recorded_by = payment.recorded_by or "the payment backend"
        return (
            f"{payment.amount} {obj.currency} on {timezone.localtime(payment.paid_at):%d %b %Y}"
            f" ({payment.method}{', ' + payment.reference if payment.reference else ''}),"
            f" recorded by {recorded_by}"
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
            path("<path:object_id>/void/", wrap(self.void_view), name="billing_invoice_void"),
            path(
                "<path:object_id>/reissue/",
                wrap(self.reissue_view),
                name="billing_invoice_reissue",
            ),
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
            .select_related("organisation", "payment__recorded_by", "replaced_by")
        )

    def object_tools(self, request, invoice: Invoice) -> list[tuple[str, str]]:
        tools = [
            (self._url("pdf", invoice), "Download PDF"),
            (self._url("csv", invoice), "Download CSV"),
        ]
        if invoice.status == InvoiceStatus.ISSUED:
            if self.can_record_payment(request):
                tools.append((self._url("payment", invoice), "Record payment"))
            if is_platform_staff(request):
                tools.append((self._url("void", invoice), "Void"))
                tools.append((self._url("reissue", invoice), "Void and reissue"))
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
        return self._page(request, "invoice/export.html", "Export invoice lines as CSV", form=form)

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
        return self._page(
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
        form = PaymentForm(_posted(request))
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
                self._refused(request, exc)
            else:
                self.message_user(
                    request,
                    f"Payment of {invoice.total} {invoice.currency} recorded: invoice "
                    f"{invoice.number} is paid.",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(self._url("change", invoice))
        return self._page(
            request,
            "invoice/payment.html",
            f"Record a payment for {invoice.number}",
            original=invoice,
            form=form,
        )

    # Void, and void-and-reissue (docs/rules.md, billing: never edit an issued invoice).

    def void_view(self, request, object_id):
        invoice, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        self._require(is_platform_staff(request))
        form = VoidForm(_posted(request))
        if request.method == "POST" and form.is_valid():
            try:
                self.call_service(
                    invoice_void,
                    invoice=invoice,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ServiceRefused as exc:
                self._refused(request, exc)
            else:
                self.message_user(request, f"Invoice {invoice.number} voided.", messages.SUCCESS)
            return HttpResponseRedirect(self._url("change", invoice))
        return self._page(
            request, "invoice/void.html", f"Void {invoice.number}", original=invoice, form=form
        )

    def reissue_view(self, request, object_id):
        invoice, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        self._require(is_platform_staff(request))
        initial = corrected_lines_initial(invoice)
        formset = CorrectedLinesFormSet(_posted(request), initial=initial, prefix="lines")
        form = VoidForm(_posted(request))
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
                    self._refused(request, exc)
                    return HttpResponseRedirect(self._url("change", invoice))
                self.message_user(
                    request,
                    f"Invoice {invoice.number} voided and replaced by {corrected.number} "
                    f"(total {corrected.total} {corrected.currency}).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self._url("change", corrected))
        return self._page(
            request,
            "invoice/reissue.html",
            f"Review the correction of {invoice.number}" if quote else f"Correct {invoice.number}",
            original=invoice,
            form=form,
            formset=formset,
            quote=quote,
        )


def _query(params: dict) -> str:
    from urllib.parse import urlencode

    return f"?{urlencode(params)}" if params else ""


def _csv_response(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- commitments (rule 16) -----------------------------------------------------------------------


@admin.register(Commitment)
class CommitmentAdmin(TenantAdmin):
    """Platform staff set commitments; the organisation's members read theirs."""

    list_display = (
        "licence_type",
        "quantity",
        "ends_on",
        "in_force",
        "created_at",
        "organisation",
    )
    list_filter = ("licence_type", "organisation")
    search_fields = ("licence_type__code", "licence_type__name", "organisation__name")
    list_select_related = ("organisation", "licence_type")
    ordering = ("organisation__name", "licence_type__sort_order")
    fields = ("organisation", "licence_type", "quantity", "ends_on", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("organisation",)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly += ["organisation", "licence_type"]  # a commitment never moves
        return self._strip(request, readonly)

    @admin.display(description="in force", boolean=True)
    def in_force(self, obj):
        return obj.ends_on > organisation_today(obj.organisation)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            self.call_service(
                commitment_update,
                commitment=obj,
                quantity=data["quantity"],
                ends_on=data["ends_on"],
                actor=request.user,
            )
            return
        created = self.call_service(
            commitment_create,
            organisation=data["organisation"],
            licence_type=data["licence_type"],
            quantity=data["quantity"],
            ends_on=data["ends_on"],
            actor=request.user,
        )
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        self.call_service(commitment_delete, commitment=obj, actor=request.user)


# --- charges: device orders (rule 22) and termination fees (rule 16) ----------------------------


class BilledFilter(YesNoFilter):
    title = "billed"
    parameter_name = "billed"
    options = (("no", "Waiting for the next invoice"), ("yes", "Billed"))

    def condition(self) -> Q:
        return Q(invoice__isnull=False)


@admin.register(Charge)
class ChargeAdmin(ActionPagesMixin, TenantAdmin):
    """One-off charges waiting for (or billed on) an invoice. Adding one is ordering devices."""

    list_display = (
        "description",
        "kind",
        "quantity",
        "unit_price",
        "amount_with_currency",
        "created_at",
        "billed_on",
        "organisation",
    )
    list_filter = ("kind", BilledFilter, "device", "organisation")
    search_fields = ("description",)
    list_select_related = ("organisation", "invoice")
    ordering = ("-created_at", "id")
    fields = (
        "organisation",
        "kind",
        "description",
        "device",
        "licence_type",
        "quantity",
        "unit_price",
        "amount",
        "created_at",
        "created_by",
        "invoice",
    )
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="amount", ordering="amount")
    def amount_with_currency(self, obj):
        return f"{obj.amount} {obj.organisation.currency}"

    billed_on = invoice_billed_on

    def add_view(self, request, form_url="", extra_context=None):
        """Order devices: form -> review with the exact amount -> device_order (rule 22)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DeviceOrderForm(_posted(request), organisation=organisation_of(request))
        review = None
        if request.method == "POST" and form.is_valid():
            organisation = form.target_organisation
            device, quantity = form.cleaned_data["device"], form.cleaned_data["quantity"]
            if "_confirm" in request.POST:
                try:
                    charge = self.call_service(
                        device_order,
                        organisation=organisation,
                        device=device,
                        quantity=quantity,
                        actor=request.user,
                    )
                except ServiceRefused as exc:
                    self._refused(request, exc)
                else:
                    self.message_user(
                        request,
                        f"Ordered {charge.description}: {charge.amount} {organisation.currency}, "
                        "billed on the next invoice.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:billing_charge_changelist") + "?billed=no"
                    )
            unit_price = DevicePrice.objects.get(
                device=device, currency=organisation.currency
            ).unit_price
            review = {
                "organisation": organisation,
                "device": device,
                "quantity": quantity,
                "unit_price": unit_price,
                "amount": unit_price * quantity,
                "currency": organisation.currency,
                "billed_on": _next_invoice_on(organisation),
            }
        return self._page(
            request,
            "charge/order_devices.html",
            "Review the device order" if review else "Order devices",
            form=form,
            review=review,
        )


def _next_invoice_on(organisation: Organisation):
    """The local date of the renewal invoice that will carry a charge made now."""
    if organisation.next_renewal_at is None:
        return organisation_period(organisation).end
    return renewal_period(organisation).start


# --- usage (rule 21) ----------------------------------------------------------------------------


@admin.register(UsageRecord)
class UsageRecordAdmin(TenantAdmin):
    """Calls and messages with their cost, counted against the calling-credit cap."""

    list_display = (
        "started_at",
        "kind",
        "direction",
        "number",
        "member",
        "destination",
        "duration_seconds",
        "cost_with_currency",
        "period_start",
        "billed_on",
        "organisation",
    )
    list_filter = ("kind", "direction", "member", "number", BilledFilter, "organisation")
    search_fields = ("destination", "number__e164")
    list_select_related = ("organisation", "number", "member", "invoice")
    date_hierarchy = "started_at"
    ordering = ("-started_at", "-id")
    fields = (
        "organisation",
        "number",
        "member",
        "kind",
        "direction",
        "started_at",
        "duration_seconds",
        "destination",
        "cost",
        "period_start",
        "invoice",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # the telephony platform posts usage (POST /api/v1/usage/)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="cost", ordering="cost")
    def cost_with_currency(self, obj):
        return f"{obj.cost} {obj.organisation.currency}"

    billed_on = invoice_billed_on

    def changelist_view(self, request, extra_context=None):
        organisation = organisation_of(request)
        if organisation is None:
            try:
                picked = uuid.UUID(request.GET.get("organisation__id__exact", ""))
            except ValueError:
                picked = None
            organisation = Organisation.objects.filter(pk=picked).first() if picked else None
        context = {"calling_credits": calling_credits(organisation) if organisation else None}
        return super().changelist_view(request, {**context, **(extra_context or {})})


# --- the dashboard's billing figures -------------------------------------------------------------


def calling_credits(organisation: Organisation) -> dict:
    """Rule 21: the current period's usage against the organisation's cap."""
    used = usage_used(organisation)
    cap = organisation.calling_credit_cap
    percent = min(Decimal(100), used * 100 / cap) if cap else Decimal(100)
    return {
        "used": used,
        "cap": cap,
        "left": max(cap - used, Decimal("0.00")),
        "percent": int(percent),
        "currency": organisation.currency,
        "period": organisation_period(organisation),
    }


def billing_dashboard(organisation: Organisation, request) -> dict:
    """The dashboard's billing figures: upcoming invoice, overdue invoices, calling credits.

    A fixed number of queries whatever the organisation's size.
    """
    if not request.user.has_perm("billing.view_invoice"):
        return {}
    staff_filter = (
        {"organisation__id__exact": organisation.pk} if is_platform_staff(request) else {}
    )
    overdue = Invoice.objects.filter(
        organisation=organisation,
        status=InvoiceStatus.ISSUED,
        due_on__lt=organisation_today(organisation),
    ).order_by("due_on", "sequence")
    quote = upcoming_quote(organisation)
    changelist = reverse("admin:billing_invoice_changelist")
    return {
        "upcoming_quote": quote,
        "upcoming_on": renewal_period(organisation).start,
        "upcoming_url": reverse("admin:billing_invoice_upcoming")
        + (_query({"organisation": organisation.pk}) if staff_filter else ""),
        "overdue_count": overdue.count(),
        "overdue_invoices": [
            (reverse("admin:billing_invoice_change", args=[pk]), number)
            for pk, number in overdue.values_list("pk", "number")[:5]
        ],
        "overdue_url": changelist + _query({"overdue": "yes", **staff_filter}),
        "calling_credits": calling_credits(organisation),
        "usage_url": reverse("admin:billing_usagerecord_changelist") + _query(staff_filter),
    }
