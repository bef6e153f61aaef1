"""Usage (rule 21): calling credits used, read-only."""

from __future__ import annotations

import uuid

from django.contrib import admin

from accounts.models import Organisation
from billing.admin.charges import BilledFilter
from billing.admin.common import invoice_billed_on
from billing.admin.dashboard import calling_credits
from billing.models import (
    UsageRecord,
)
from telecom.admin import (
    TenantAdmin,
    organisation_of,
)


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
