"""Charges: device orders (rule 22) and termination fees (rule 16)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.urls import reverse

from accounts.models import Organisation
from billing.admin.common import invoice_billed_on
from billing.forms import (
    DeviceOrderForm,
)
from billing.models import (
    Charge,
)
from billing.renewal import renewal_period
from billing.selectors import organisation_period
from licensing.services import device_order, device_order_preview
from telecom.admin import (
    ActionPages,
    ReviewThenConfirm,
    TenantAdmin,
    YesNoFilter,
)


class BilledFilter(YesNoFilter):
    title = "billed"
    parameter_name = "billed"
    options = (("no", "Waiting for the next invoice"), ("yes", "Billed"))

    def condition(self) -> Q:
        return Q(invoice__isnull=False)


@admin.register(Charge)
class ChargeAdmin(ActionPages, TenantAdmin):
    """One-off charges waiting for (or billed on) an invoice. Adding one is ordering devices."""

    page_templates = "admin/billing"

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
        return ORDER_DEVICES(self, request)


def _next_invoice_on(organisation: Organisation):
    """The local date of the renewal invoice that will carry a charge made now."""
    if organisation.next_renewal_at is None:
        return organisation_period(organisation).end
    return renewal_period(organisation).start


ORDER_DEVICES = ReviewThenConfirm(
    form=DeviceOrderForm,
    arguments=lambda form: {
        "organisation": form.target_organisation,
        "device": form.cleaned_data["device"],
        "quantity": form.cleaned_data["quantity"],
    },
    preview=device_order_preview,
    service=device_order,
    message=lambda charge, form: (
        f"Ordered {charge.description}: {charge.amount} {form.target_organisation.currency}, "
        "billed on the next invoice."
    ),
    success_url=lambda charge, form: reverse("admin:billing_charge_changelist") + "?billed=no",
    template="charge/order_devices.html",
    title="Order devices",
    review_title="Review the device order",
    context=lambda request, form, review: (
        {"review": {**review, "billed_on": _next_invoice_on(review["organisation"])}}
        if review
        else {}
    ),
)
