"""Tenancy for the console: every admin of a domain model derives from `TenantAdmin`.

It scopes, to the signed-in member's organisation, everything the Django admin reads from the
database on their behalf: list querysets, change/delete/history views, foreign-key and
many-to-many choices, autocomplete results, list filters and admin actions. Django scopes none of
these by default. Platform staff (superusers) see every organisation. Another organisation's
object answers exactly like a missing one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import TO_FIELD_VAR
from django.contrib.admin.utils import NotRelationField, get_fields_from_path, unquote
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.text import capfirst

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.restriction import organisation_is_suspended
from licensing.models import Device, DevicePrice, LicencePrice, LicenceType
from telecom.admin.bases import (
    ServiceRefused,
    audit_events_of,
    call_service,
    is_platform_staff,
    organisation_of,
)
from telecom.admin.filters import RowSearchFilter
from telecom.pagination import IdsFirstPaginator, rows_of


class CatalogueAdmin(admin.ModelAdmin):
    """Shared catalogue data (licence types, devices): every member reads it, staff edit it."""

    def has_add_permission(self, request, obj=None):
        return is_platform_staff(request)

    def has_change_permission(self, request, obj=None):
        return is_platform_staff(request)

    def has_delete_permission(self, request, obj=None):
        return is_platform_staff(request)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            organisation=None,
            actor=request.user,
            action=f"{obj._meta.model_name}.{'updated' if change else 'created'}",
            target=obj,
            changes={"fields": list(form.changed_data)},
        )

    def delete_model(self, request, obj):
        audit_record(
            organisation=None,
            actor=request.user,
            action=f"{obj._meta.model_name}.deleted",
            target=obj,
        )
        super().delete_model(request, obj)


class StaffOnlyAdmin(admin.ModelAdmin):
    """Platform-level data no organisation member may see (e.g. API tokens)."""

    def has_module_permission(self, request):
        return is_platform_staff(request)

    def has_view_permission(self, request, obj=None):
        return is_platform_staff(request)

    def has_add_permission(self, request, obj=None):
        return is_platform_staff(request)

    def has_change_permission(self, request, obj=None):
        return is_platform_staff(request)

    def has_delete_permission(self, request, obj=None):
        return is_platform_staff(request)


# Models without an organisation that every organisation may read (the catalogue).
SHARED = object()


def tenant_path(model, *, site: admin.AdminSite | None = None):
    """How rows of `model` reach their organisation: a lookup path, `SHARED`, or None (unknown).

    The registered admin decides (its `tenant_field`, or a `CatalogueAdmin` for shared data);
    an unregistered model is scoped by its `organisation` field when it has one.
    """
    if model is Organisation:
        return "pk"
    model_admin = (site or admin.site)._registry.get(model)
    if isinstance(model_admin, TenantAdmin):
        return model_admin.tenant_field
    if isinstance(model_admin, CatalogueAdmin):
        return SHARED
    if model in SHARED_MODELS:
        return SHARED
    try:
        model._meta.get_field("organisation")
    except FieldDoesNotExist:
        return None
    return "organisation"


def scope_queryset(
    queryset: QuerySet, organisation: Organisation | None, *, site: admin.AdminSite | None = None
) -> QuerySet:
    """Rows of `queryset` that `organisation` may see. Fails closed for a model it cannot place."""
    if organisation is None:
        return queryset
    path_ = tenant_path(queryset.model, site=site)
    if path_ is SHARED:
        return queryset
    if path_ is None:
        return queryset.none()
    if path_ == "pk":
        return queryset.filter(pk=organisation.pk)
    return queryset.filter(**{path_: organisation})


def _names_organisation(name: Any, tenant_field: str) -> bool:
    if not isinstance(name, str):
        return False
    return name in {tenant_field, "organisation"} or name.startswith(
        ("organisation__", f"{tenant_field}__")
    )


class IdsFirstChangeList(ChangeList):
    """A list page reads the ids of its rows, then those rows (`IdsFirstPaginator`), whether
    the list has one page or many: the same queries whatever its size."""

    def get_results(self, request):
        super().get_results(request)
        if isinstance(self.result_list, QuerySet) and self.result_list.ordered:
            ids = list(self.result_list.values_list("pk", flat=True))
            self.result_list = rows_of(self.result_list, ids)


class TenantAdmin(admin.ModelAdmin):
    """The one admin base for domain models: scoped to the member's organisation.

    `tenant_field` is the lookup path from the model to its organisation ("pk" for the
    organisation itself). Entries of `list_display`, `list_filter`, `search_fields` and forms that
    name the organisation are shown to platform staff only: members never get a list of
    organisations. Writes go through services (`call_service`); their audit rows replace the
    admin's LogEntry history.
    """

    tenant_field = "organisation"
    history_template = "admin/telecom/audit_history.html"
    list_per_page = 50
    # A large organisation's lists must not count their rows twice (filtered, then all of them)
    # nor once per filter choice: the page says "N results" for the filtered rows only, and
    # filter choices come without counts ("show counts" is not offered).
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # A page reads its ids first (sorted narrow rows), then its rows with their joins.
    paginator = IdsFirstPaginator

    def get_changelist(self, request, **kwargs):
        return IdsFirstChangeList

    # --- scoping ---------------------------------------------------------------------------

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        organisation = organisation_of(request)
        if organisation is None:
            return queryset
        if self.tenant_field == "pk":
            return queryset.filter(pk=organisation.pk)
        return queryset.filter(**{self.tenant_field: organisation})

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    # --- a suspended organisation's console is read-only, billing aside (docs/rules.md) -----

    def suspended_read_only(self, request: HttpRequest) -> bool:
        if self.opts.app_label == "billing":
            return False  # paying, payment methods and billing details stay open
        organisation = organisation_of(request)
        if organisation is None:
            return False
        if not hasattr(request, "_organisation_suspended"):
            request._organisation_suspended = organisation_is_suspended(organisation)
        return request._organisation_suspended

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not self.suspended_read_only(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self.suspended_read_only(request)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self.suspended_read_only(request)

    def get_search_results(self, request, queryset, search_term):
        # The queryset is already scoped; scoping again keeps autocomplete and any subclass that
        # widens the search (e.g. `queryset | other`) inside the organisation.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return self.scope(request, queryset), may_have_duplicates

    def scoped_choices(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return scope_queryset(queryset, organisation_of(request), site=self.admin_site)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = self.scoped_choices(request, self._choices(db_field, request, kwargs))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["queryset"] = self.scoped_choices(request, self._choices(db_field, request, kwargs))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _choices(self, db_field, request, kwargs) -> QuerySet:
        if "queryset" in kwargs:
            return kwargs["queryset"]
        queryset = self.get_field_queryset(kwargs.get("using"), db_field, request)
        if queryset is None:
            queryset = db_field.remote_field.model._default_manager.using(kwargs.get("using"))
        return queryset.all()

    # --- what members see of the organisation dimension ------------------------------------

    def _strip(self, request, entries) -> list:
        if is_platform_staff(request):
            return list(entries)
        return [
            entry
            for entry in entries
            if not _names_organisation(
                entry[0] if isinstance(entry, list | tuple) else entry, self.tenant_field
            )
        ]

    def get_list_display(self, request):
        return self._strip(request, super().get_list_display(request))

    def get_list_display_links(self, request, list_display):
        links = super().get_list_display_links(request, list_display)
        return [link for link in links or () if link in list_display] or None

    def get_search_fields(self, request):
        return self._strip(request, super().get_search_fields(request))

    def get_list_filter(self, request):
        filters = []
        for entry in self._strip(request, super().get_list_filter(request)):
            if isinstance(entry, str) and self._is_relation(entry):
                entry = self._relation_filter(entry)
            filters.append(entry)
        return filters

    def _relation_filter(self, field_path: str):
        """The plain related filter lists every row of the related table (every organisation's
        members). A shared catalogue (licence types, devices) is listed as far as the scoped
        rows use it; an organisation's own rows (members, licences, lines, numbers, and
        organisations for staff) are found through a search, never listed."""
        related = get_fields_from_path(self.model, field_path)[-1].related_model
        if tenant_path(related, site=self.admin_site) is SHARED:
            return (field_path, admin.RelatedOnlyFieldListFilter)
        cache = self.__dict__.setdefault("_relation_filters", {})
        if field_path not in cache:
            cache[field_path] = RowSearchFilter.for_field(field_path)
        return cache[field_path]

    def _is_relation(self, field_path: str) -> bool:
        try:
            return get_fields_from_path(self.model, field_path)[-1].is_relation
        except (FieldDoesNotExist, NotRelationField):
            return False

    def get_fields(self, request, obj=None):
        return self._strip(request, super().get_fields(request, obj))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_platform_staff(request):
            return fieldsets
        return [
            (name, {**options, "fields": self._strip(request, options.get("fields", ()))})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        return self._strip(request, super().get_readonly_fields(request, obj))

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or ())
        if not is_platform_staff(request) and self.tenant_field != "pk":
            exclude.append(self.tenant_field.split("__")[0])
        return exclude

    def save_model(self, request, obj, form, change):  # pragma: no cover - services save
        if not change and not is_platform_staff(request) and self.tenant_field == "organisation":
            obj.organisation = request.user.organisation
        super().save_model(request, obj, form, change)

    # --- actions ----------------------------------------------------------------------------

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Deleting bypasses the services (and their rules); models that may be deleted say how.
        actions.pop("delete_selected", None)
        return actions

    def run_on_each(self, request, queryset, service, *, arg: str, verb: str, **kwargs) -> int:
        """Apply a one-object service to each selected row of the (scoped) queryset.

        Each call is its own transaction; refusals are reported per row and do not stop the rest.
        """
        done, refused = 0, []
        for obj in queryset:
            try:
                call_service(service, **{arg: obj}, actor=request.user, **kwargs)
            except ServiceRefused as exc:
                refused.append(f"{obj}: {exc.message}")
            else:
                done += 1
        if done:
            self.message_user(
                request, f"{capfirst(verb)} {done} {self._plural(done)}.", messages.SUCCESS
            )
        for line in refused:
            self.message_user(request, line, messages.ERROR)
        return done

    def _plural(self, count: int) -> str:
        return str(self.opts.verbose_name if count == 1 else self.opts.verbose_name_plural)

    # --- object views: another organisation's object is a missing object -------------------

    def _missing(self, request, object_id) -> bool:
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        if to_field and not self.to_field_allowed(request, to_field):
            return False  # Django refuses it itself
        return self.get_object(request, unquote(object_id), to_field) is None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Checked before Django's permission check, so that a view-only model answers "does not
        # exist" rather than a 403 that would confirm the row exists elsewhere.
        if object_id is not None and self._missing(request, object_id):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        if self._missing(request, object_id):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def history_view(self, request, object_id, extra_context=None):
        """The object's audit trail (AuditEvent rows written by the services), scoped."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        events = audit_events_of(obj, organisation=organisation_of(request))
        paginator = self.get_paginator(request, events, 100)
        page_obj = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "events": page_obj,
            "page_obj": page_obj,
            "page_range": paginator.get_elided_page_range(page_obj.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.num_pages > 1,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.history_template, context)

    # Services write the audit trail (AuditEvent); Django's LogEntry would only duplicate it.
    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletions(self, request, queryset):
        return None

    # --- helpers for service-backed views ---------------------------------------------------

    def call_service(self, service: Callable[..., Any], /, **kwargs) -> Any:
        return call_service(service, **kwargs)

    def object_or_missing(self, request, object_id):
        """`(obj, None)` for an object of the organisation, else `(None, redirect)`."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return None, self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return obj, None


def _shared_models():

    return frozenset({LicenceType, LicencePrice, Device, DevicePrice})


class _LazySharedModels:
    def __contains__(self, model) -> bool:
        return model in _shared_models()


SHARED_MODELS = _LazySharedModels()
