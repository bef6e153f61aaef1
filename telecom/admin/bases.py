"""The console's shared bases: who is asking (`organisation_of`, `is_platform_staff`), service
refusals, list filters, inlines, and the action pages (`ActionPages`, `ReviewThenConfirm`).

Admin classes are thin: they parse a form and call one service. A service's refusal (a
`DomainError`, a `ValidationError` or a `PermissionDenied`) becomes an error message in plain
words (the error's own sentence; codes stay in the API), never a 500
(`TenantAdmin.call_service`, `refusal_message`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.models import AuditEvent, Organisation
from telecom.errors import DomainError


def organisation_of(request: HttpRequest) -> Organisation | None:
    """The organisation a console request is confined to; None for platform staff (all)."""
    user = request.user
    if user.is_superuser:
        return None
    if user.organisation_id is None:  # cannot happen (a check constraint), but fail closed
        raise PermissionDenied
    return user.organisation


def is_platform_staff(request: HttpRequest) -> bool:
    return bool(request.user.is_superuser)


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


# --- action pages: form -> review -> confirm ------------------------------------------------------


def posted(request: HttpRequest):
    """The form data of a POST, None for a GET (an unbound form)."""
    return request.POST if request.method == "POST" else None


class ActionPages:
    """The console's action pages, in its look, for a ModelAdmin (mixed in before it).

    `page_templates` is the folder of the pages' templates ("admin/licensing/licence"); a
    template named from "admin/" on is taken as it is.
    """

    page_templates = ""

    def action_page(self, request, template: str, title: str, **context) -> TemplateResponse:
        media = self.media
        for name in ("form", "formset"):
            if context.get(name) is not None:
                media += context[name].media
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            template if template.startswith("admin/") else f"{self.page_templates}/{template}",
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

    def refused(self, request, exc: ServiceRefused) -> None:
        self.message_user(request, exc.message, messages.ERROR)


@dataclass(frozen=True)
class ReviewThenConfirm:
    """One console action: form -> review (a read-only `*_preview`/`*_quote` service) -> confirm
    (the real service, given the same arguments and the actor) -> a message naming what changed
    -> redirect. A refusal, at either step, is an error message on the page, never a 500.

    `arguments(form)` turns the valid form into the services' keyword arguments; `form_kwargs`,
    `context` and `can_confirm` adapt the page. With `review_after_refusal` a refused confirm
    shows the review again (what the service would do now); without it, the form.
    """

    form: type
    preview: Callable[..., Any]
    service: Callable[..., Any]
    message: Callable[[Any, Any], str]  # (result, form) -> sentence
    success_url: Callable[[Any, Any], str]  # (result, form) -> address
    template: str
    title: str
    review_title: str
    arguments: Callable[[Any], dict]
    form_kwargs: Callable[[Any, HttpRequest], dict] = lambda model_admin, request: {
        "organisation": organisation_of(request)
    }
    context: Callable[[HttpRequest, Any, Any], dict] = lambda request, form, review: {}
    review_after_refusal: bool = True

    def __call__(self, model_admin, request) -> HttpResponse:
        form = self.form(posted(request), **self.form_kwargs(model_admin, request))
        review = None
        if request.method == "POST" and form.is_valid():
            arguments = self.arguments(form)
            refused = False
            if "_confirm" in request.POST:
                try:
                    result = model_admin.call_service(self.service, actor=request.user, **arguments)
                except ServiceRefused as exc:
                    model_admin.refused(request, exc)
                    refused = True
                else:
                    model_admin.message_user(request, self.message(result, form), messages.SUCCESS)
                    return HttpResponseRedirect(self.success_url(result, form))
            if not refused or self.review_after_refusal:
                try:
                    review = model_admin.call_service(self.preview, **arguments)
                except ServiceRefused as exc:
                    model_admin.refused(request, exc)
        context = {"form": form, "review": review, **self.context(request, form, review)}
        title = self.review_title if review else self.title
        return model_admin.action_page(request, self.template, title, **context)
