"""Commitments (rule 16): the terms a licence was bought under and what ending it early costs."""

from __future__ import annotations

from django.contrib import admin

from billing.models import (
    Commitment,
)
from billing.selectors import organisation_today
from billing.services import (
    commitment_create,
    commitment_delete,
    commitment_update,
)
from telecom.admin import (
    TenantAdmin,
)


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
