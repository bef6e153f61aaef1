"""The console's shared bases: service refusals, list filters, inlines, catalogue and staff-only
admins.

Admin classes are thin: they parse a form and call one service. A service's refusal (a
`DomainError`, a `ValidationError` or a `PermissionDenied`) becomes an error message in plain
words (the error's own sentence; codes stay in the API), never a 500
(`TenantAdmin.call_service`, `refusal_message`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet

from accounts.models import AuditEvent, Organisation
from telecom.errors import DomainError


def refusal_message(exc: Exception) -> str:
    """The refusal as the customer reads it: the error's own sentence, no code, no rule number.

    Codes stay in the API (`{"code", "detail"}`); the console speaks product language
    (docs/rules.md, each service cites the rule it enforces).
    """
    if isinstance(exc, DomainError):
        return str(exc.detail)
    if isinstance(exc, ValidationError):
        errors = (
            [e for field_errors in exc.error_dict.values() for e in field_errors]
            if hasattr(exc, "error_dict")
            else exc.error_list
        )
        return " ".join(" ".join(e.messages) for e in errors)
    if isinstance(exc, PermissionDenied):
        return str(exc) or "Your role may not do this."
    raise TypeError(f"not a service refusal: {exc!r}")


class ServiceRefused(Exception):
    """A service refused the request; carries the message shown to the admin user."""

    def __init__(self, message: str, *, cause: Exception):
        super().__init__(message)
        self.message = message
        self.cause = cause


REFUSALS = (DomainError, ValidationError, PermissionDenied)


def call_service(service: Callable[..., Any], /, **kwargs) -> Any:
    """Run one service; turn its refusal into `ServiceRefused` (rolled back, shown as a message)."""
    try:
        return service(**kwargs)
    except REFUSALS as exc:
        raise ServiceRefused(refusal_message(exc), cause=exc) from exc


def audit_events_of(obj, *, organisation: Organisation | None) -> QuerySet:
    events = AuditEvent.objects.filter(target_type=obj._meta.model_name, target_id=str(obj.pk))
    if organisation is not None:
        events = events.filter(organisation=organisation)
    return events.order_by("-created_at", "-id")


class YesNoFilter(admin.SimpleListFilter):
    """A list filter of two choices: the rows meeting `condition()`, or the others."""

    options = (("yes", "Yes"), ("no", "No"))

    def condition(self) -> Q:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return self.options

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(self.condition())
        if self.value() == "no":
            return queryset.exclude(self.condition())
        return queryset


class ReadOnlyInline(admin.TabularInline):
    """An inline that only shows rows (they change through services, never through the form)."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_view_permission(self, request, obj=None):
        # Rows shown inside a page (invoice lines, a member's licences) are part of it: whoever
        # may see the parent object sees them. The parent's queryset is the tenancy check.
        parent_admin = self.admin_site.get_model_admin(self.parent_model)
        return parent_admin.has_view_or_change_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)
