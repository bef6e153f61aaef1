"""The audit trail, read-only; and the platform-level models Django and DRF register, which the
console leaves out."""

import json

from django.contrib import admin
from django.contrib.auth.models import Group
from django.utils.html import format_html
from rest_framework.authtoken.models import TokenProxy

from accounts.models import AuditEvent
from telecom.admin import (
    TenantAdmin,
)


@admin.register(AuditEvent)
class AuditEventAdmin(TenantAdmin):
    """Who changed what and when (docs/architecture.md), written by the services. Read-only."""

    list_display = (
        "created_at",
        "actor_label",
        "action",
        "target_type",
        "target_label",
        "changes_summary",
        "organisation",
    )
    list_filter = ("action", "target_type", "created_at", "organisation")
    search_fields = ("actor_label", "action", "target_label", "target_id")
    date_hierarchy = "created_at"
    list_select_related = ("organisation",)
    fields = (
        "created_at",
        "organisation",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "changes_pretty",
        "client_address",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="changes")
    def changes_summary(self, obj):
        text = json.dumps(obj.changes, sort_keys=True, default=str)
        return text if len(text) <= 120 else text[:117] + "..."

    @admin.display(description="changes")
    def changes_pretty(self, obj):
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.changes, indent=2, sort_keys=True, default=str)
        )


# Permissions come from roles (accounts.roles), never from groups; the page would only mislead.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


# DRF's token page lists every member's API token in clear: credentials have no place in the
# console. Tokens are obtained through the API and revoked when a member is removed (rule 9).
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
