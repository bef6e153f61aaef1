"""Charges: device orders (rule 22) and termination fees (rule 16)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.models import Organisation
from billing.admin.common import ActionPagesMixin, _posted, invoice_billed_on
from billing.forms import (
    DeviceOrderForm,
)
from billing.models import (
    Charge,
)
from billing.renewal import renewal_period
from billing.selectors import organisation_period
from billing.services import (
    device_order,
)
from licensing.models import DevicePrice
from telecom.admin import (
    ServiceRefused,
    TenantAdmin,
    YesNoFilter,
    organisation_of,
)


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
