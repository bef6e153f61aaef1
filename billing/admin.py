"""Console pages for invoices: read-only (an issued invoice is never edited, DESIGN.md s. 4)."""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from billing.models import Invoice, InvoiceLine, InvoiceStatus
from billing.selectors import organisation_today
from telecom.admin import ReadOnlyInline, TenantAdmin, organisation_of


class OverdueFilter(admin.SimpleListFilter):
    """Issued and past due, by the organisation's local date."""

    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return (("yes", "Overdue"), ("no", "Not overdue"))

    def queryset(self, request, queryset):
        organisation = organisation_of(request)
        # Platform staff see many time zones at once; the UTC date is close enough for a filter.
        today = organisation_today(organisation) if organisation else timezone.now().date()
        overdue = {"status": InvoiceStatus.ISSUED, "due_on__lt": today}
        if self.value() == "yes":
            return queryset.filter(**overdue)
        if self.value() == "no":
            return queryset.exclude(**overdue)
        return queryset


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
class InvoiceAdmin(TenantAdmin):
    list_display = (
        "number",
        "organisation",
        "kind",
        "issued_on",
        "due_on",
        "status",
        "overdue",
        "subtotal",
        "tax",
        "total_with_currency",
    )
    list_filter = (
        "status",
        OverdueFilter,
        "kind",
        "issued_on",
        "due_on",
        "currency",
        "organisation",
    )
    search_fields = ("number",)
    date_hierarchy = "issued_on"
    list_select_related = ("organisation",)
    ordering = ("-issued_at", "-sequence")
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
        "voided_at",
        "replaces",
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

    @admin.display(description="overdue")
    def overdue(self, obj):
        if obj.is_overdue(organisation_today(obj.organisation)):
            return format_html('<span class="overdue-flag">{}</span>', "overdue")
        return "-"

    @admin.display(description="total", ordering="total")
    def total_with_currency(self, obj):
        return f"{obj.total} {obj.currency}"
