"""Console pages for the organisation, its members and its audit trail."""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from rest_framework.authtoken.models import TokenProxy

from accounts.models import AuditEvent, MemberStatus, Organisation, User
from accounts.roles import ASSIGNABLE_ROLES, Role
from accounts.selectors import organisation_restriction_reasons
from accounts.services import (
    ORGANISATION_EDITABLE,
    STAFF_EDITABLE,
    member_invite,
    member_remove,
    member_update,
    organisation_close,
    organisation_close_request,
    organisation_set_payment_method,
    organisation_update,
    organisation_update_limits,
)
from billing.models import Invoice, InvoiceStatus
from billing.selectors import organisation_period
from billing.services import calling_credit_cap_validate
from licensing.models import Licence, LicenceKind, LicenceStatus
from telecom.admin import (
    ReadOnlyInline,
    ServiceRefused,
    TenantAdmin,
    call_service,
    is_platform_staff,
)
from telecom.quantities import AsciiDecimalFormField

PAYMENT_FIELDS = ("payment_method_kind", "payment_method_reference")


# --- organisation ------------------------------------------------------------------------------


class OrganisationForm(forms.ModelForm):
    """The organisation page's form; platform staff's cap is checked against the period's usage
    here too, so a refusal is an error on the field (the service checks it again, locked)."""

    def clean_calling_credit_cap(self):
        cap = self.cleaned_data["calling_credit_cap"]
        if "calling_credit_cap" in self.changed_data:
            try:
                calling_credit_cap_validate(self.instance, cap)
            except ValidationError as exc:
                raise ValidationError(exc.error_dict["calling_credit_cap"]) from exc
        return cap

    class Meta:
        field_classes = {  # ASCII digits only (telecom/quantities.py)
            "calling_credit_cap": AsciiDecimalFormField,
            "tax_rate": AsciiDecimalFormField,
        }


@admin.register(Organisation)
class OrganisationAdmin(TenantAdmin):
    """An owner changes their organisation's settings; platform staff also its cap and tax rate."""

    tenant_field = "pk"
    form = OrganisationForm
    list_display = (
        "name",
        "country",
        "currency",
        "plan",
        "billing_frequency",
        "licence_policy",
        "member_count",
        "payment_method_on_file",
        "has_overdue_invoice",
    )
    list_filter = ("plan", "billing_frequency", "licence_policy", "currency", "country")
    search_fields = ("name",)
    ordering = ("name",)
    readonly_fields = (
        "restriction",
        "current_period",
        "country",
        "currency",
        "timezone",
        "billing_frequency",
        "billing_anchor",
        "calling_credit_cap",
        "tax_rate",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "plan", "licence_policy", "default_licence_type")}),
        ("Payment method", {"fields": ("restriction", *PAYMENT_FIELDS)}),
        (
            "Billing",
            {
                "fields": (
                    "current_period",
                    "billing_frequency",
                    "billing_anchor",
                    "currency",
                    "tax_rate",
                    "calling_credit_cap",
                )
            },
        ),
        ("Location", {"fields": ("country", "timezone", "created_at")}),
    )

    def get_queryset(self, request):
        # "Overdue" by the UTC date: a list column; the change page shows the exact rule 18.
        overdue = Invoice.objects.filter(
            organisation=OuterRef("pk"),
            status=InvoiceStatus.ISSUED,
            due_on__lt=timezone.now().date(),
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_total=Count("members", filter=Q(members__is_superuser=False)),
                overdue=Exists(overdue),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if is_platform_staff(request):
            readonly = [field for field in readonly if field not in STAFF_EDITABLE]
        return readonly

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "default_licence_type":
            kwargs["queryset"] = db_field.related_model.objects.filter(kind=LicenceKind.BASE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return False  # organisations sign up (POST /api/v1/signup/)

    # --- closing (rule 19): the owner asks, platform staff close ---------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/request-closing/",
                wrap(self.request_closing_view),
                name="accounts_organisation_request_closing",
            ),
            path(
                "<path:object_id>/close/",
                wrap(self.close_view),
                name="accounts_organisation_close",
            ),
            *super().get_urls(),
        ]

    @staticmethod
    def can_request_closing(request, obj) -> bool:
        user = request.user
        return (
            not user.is_superuser
            and user.role == Role.OWNER
            and user.organisation_id == obj.pk
            and obj.closed_at is None
        )

    @staticmethod
    def can_close(request, obj) -> bool:
        return is_platform_staff(request) and obj.closed_at is None and bool(obj.close_requested_at)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if obj is not None:
            extra_context["can_request_closing"] = self.can_request_closing(request, obj)
            extra_context["can_close"] = self.can_close(request, obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def _closing_page(self, request, obj, template, title, **context):
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            f"admin/accounts/organisation/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "original": obj,
                "changelist_url": reverse("admin:accounts_organisation_changelist"),
                **context,
            },
        )

    def _closing_action(self, request, object_id, *, allowed, service, done, template, title):
        obj, missing = self.object_or_missing(request, object_id)
        if missing is not None:
            return missing
        if not allowed(request, obj):
            raise PermissionDenied
        page = reverse("admin:accounts_organisation_change", args=[obj.pk])
        if request.method == "POST":
            try:
                result = call_service(service, organisation=obj, actor=request.user)
            except ServiceRefused as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, done(result), messages.SUCCESS)
            return HttpResponseRedirect(page)
        return self._closing_page(request, obj, template, title)

    def request_closing_view(self, request, object_id):
        return self._closing_action(
            request,
            object_id,
            allowed=self.can_request_closing,
            service=organisation_close_request,
            done=lambda org: "Closing requested: platform staff will close the organisation.",
            template="request_closing.html",
            title="Request closing",
        )

    def close_view(self, request, object_id):
        return self._closing_action(
            request,
            object_id,
            allowed=self.can_close,
            service=organisation_close,
            done=lambda r: (
                f"{r.organisation} closed: {r.porting_cancelled} porting request(s) cancelled, "
                f"{r.numbers_quarantined} number(s) quarantined, {r.licences_scheduled} "
                f"licence(s) end on {r.removal_effective_on:%d %b %Y}, "
                f"{r.members_deactivated} member(s) deactivated."
            ),
            template="close.html",
            title="Close organisation",
        )

    def has_delete_permission(self, request, obj=None):
        return False  # rule 19: closing an organisation is its own procedure

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj):
        return obj.member_total

    @admin.display(description="payment method", boolean=True)
    def payment_method_on_file(self, obj):
        return obj.has_payment_method

    @admin.display(description="overdue invoice", boolean=True, ordering="overdue")
    def has_overdue_invoice(self, obj):
        return obj.overdue

    @admin.display(description="status")
    def restriction(self, obj):
        reasons = organisation_restriction_reasons(obj)
        if not reasons:
            return "Active: licences can be bought and assigned."
        return format_html(
            "<strong>Restricted</strong>: cannot buy licences, assign new numbers or "
            "start porting. {}",
            " ".join(reasons),
        )

    @admin.display(description="current billing period")
    def current_period(self, obj):
        period = organisation_period(obj)
        return f"{period.start:%d %b %Y} to {period.last_day:%d %b %Y} ({period.days} days)"

    def save_model(self, request, obj, form, change):
        changed = set(form.changed_data)
        data = form.cleaned_data
        general = {f: data[f] for f in ORGANISATION_EDITABLE if f in changed}
        if general:
            self.call_service(organisation_update, organisation=obj, actor=request.user, **general)
        if changed & set(PAYMENT_FIELDS):
            self.call_service(
                organisation_set_payment_method,
                organisation=obj,
                actor=request.user,
                kind=data["payment_method_kind"],
                reference=data["payment_method_reference"],
            )
        limits = {f: data[f] for f in STAFF_EDITABLE if f in changed}
        if limits:
            self.call_service(
                organisation_update_limits, organisation=obj, actor=request.user, **limits
            )


# --- members ---------------------------------------------------------------------------------


def _role_choices(actor, current: str | None = None):
    allowed = set(Role) if actor.is_superuser else set(ASSIGNABLE_ROLES[Role(actor.role)])
    if current:
        allowed.add(Role(current))
    return [(role.value, role.value.title()) for role in Role if role in allowed]


class MemberInviteForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("organisation", "email", "name", "role")


class MemberChangeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("name", "role")


class MemberLicenceInline(ReadOnlyInline):
    model = Licence
    fk_name = "member"
    verbose_name = "licence"
    verbose_name_plural = "licences held"
    fields = ("licence_type", "status", "extension", "addon_codes", "purchased_at")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("licence_type")
            .prefetch_related("addons__licence_type")
        )

    @admin.display(description="add-ons")
    def addon_codes(self, obj):
        return ", ".join(sorted(a.licence_type.code for a in obj.addons.all())) or "-"


@admin.register(User)
class MemberAdmin(TenantAdmin):
    """Members: invite (member_invite), change name and role (member_update), remove (rule 9)."""

    list_display = (
        "name",
        "email",
        "role",
        "status",
        "licence_count",
        "date_joined",
        "organisation",
    )
    list_display_links = ("name", "email")
    list_filter = ("role", "status", "organisation")
    search_fields = ("name", "email")
    ordering = ("name", "email")
    list_select_related = ("organisation",)
    readonly_fields = ("email", "status", "date_joined", "organisation")
    autocomplete_fields = ("organisation",)
    inlines = (MemberLicenceInline,)
    delete_confirmation_template = "admin/accounts/user/delete_confirmation.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(is_superuser=False)  # platform staff are not members of anything
            .annotate(
                active_licences=Count(
                    "licences", filter=~Q(licences__status=LicenceStatus.TERMINATED)
                )
            )
        )

    def get_search_results(self, request, queryset, search_term):
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        if request.resolver_match and request.resolver_match.url_name == "autocomplete":
            # Choosing an assignee: deactivated members cannot receive licences.
            queryset = queryset.exclude(status=MemberStatus.DEACTIVATED)
        return queryset, duplicates

    @admin.display(description="licences", ordering="active_licences")
    def licence_count(self, obj):
        return obj.active_licences

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = MemberChangeForm if obj is not None else MemberInviteForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if "organisation" in form.base_fields:
            form.base_fields["organisation"].required = True  # platform staff pick one
        if "role" in form.base_fields:
            form.base_fields["role"].choices = _role_choices(
                request.user, obj.role if obj is not None else None
            )
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            fields = ["organisation", "email", "name", "role"]
        else:
            fields = ["email", "name", "role", "status", "date_joined", "organisation"]
        return self._strip(request, fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return super().get_readonly_fields(request, obj)

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == MemberStatus.DEACTIVATED:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            self.call_service(
                member_update,
                member=obj,
                actor=request.user,
                name=data["name"],
                role=data["role"],
            )
            return
        organisation = data.get("organisation") or request.user.organisation
        member = self.call_service(
            member_invite,
            organisation=organisation,
            email=data["email"],
            name=data["name"],
            role=data["role"],
            actor=request.user,
            request=request,
        )
        obj.pk = member.pk
        obj._state.adding = False

    def get_deleted_objects(self, objs, request):
        # Removing a member deletes nothing (rule 9): it deactivates them and frees their
        # licences. The confirmation page says so instead of listing related rows.
        return [str(obj) for obj in objs], {}, set(), []

    def delete_model(self, request, obj):
        self.call_service(member_remove, member=obj, actor=request.user)

    def response_delete(self, request, obj_display, obj_id):
        self.message_user(
            request,
            f"{obj_display} was removed: deactivated, their licences are now unassigned.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:accounts_user_changelist"))


# --- audit trail -----------------------------------------------------------------------------


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


# --- platform-level models that Django and DRF register ----------------------------------------

# Permissions come from roles (accounts.roles), never from groups; the page would only mislead.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)

# DRF's token page lists every member's API token in clear: credentials have no place in the
# console. Tokens are obtained through the API and revoked when a member is removed (rule 9).
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
