"""The organisation's page: its settings, limits, payment method and closing."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.closing import organisation_close, organisation_close_request
from accounts.models import Organisation
from accounts.roles import Role, has_capability
from accounts.services import (
    BILLING_EDITABLE,
    ORGANISATION_EDITABLE,
    organisation_change_capability,
    organisation_update,
)
from billing.models import Invoice, InvoiceStatus
from billing.payments.methods import payment_methods_of
from billing.restriction import organisation_restriction_reasons
from billing.selectors import organisation_period
from billing.usage import STAFF_EDITABLE, calling_credit_cap_validate, organisation_update_limits
from licensing.models import LicenceKind
from telecom.admin import (
    ServiceRefused,
    TenantAdmin,
    call_service,
    is_platform_staff,
)
from telecom.quantities import AsciiDecimalFormField


class OrganisationForm(forms.ModelForm):
    """The organisation page's form; platform staff's cap is checked against the period's usage
    here too, so a refusal is an error on the field (the service checks it again, locked)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound and "language" in self.fields and "language" not in self.data:
            # a form posted without it keeps the current language (and does not change it)
            self.data = self.data.copy()
            self.data["language"] = self.instance.language

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
        labels = {"language": "Invoice and e-mail language"}


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
        "payment_methods",
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
        ("Payment method", {"fields": ("restriction", "payment_methods")}),
        (
            "Billing",
            {
                "fields": (
                    "current_period",
                    "billing_frequency",
                    "billing_anchor",
                    "currency",
                    "language",
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

    def _changes_only_billing(self, request, obj=None) -> bool:
        """Finance: may change the invoice language and nothing else (API alike,
        `organisation_change_capability`)."""
        return not super().has_change_permission(request, obj) and has_capability(
            request.user, organisation_change_capability(BILLING_EDITABLE)
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or self._changes_only_billing(
            request, obj
        )

    def get_readonly_fields(self, request, obj=None):
        if self._changes_only_billing(request, obj):
            fields = [field for _, options in self.fieldsets for field in options["fields"]]
            return [field for field in fields if field not in BILLING_EDITABLE]
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

    @admin.display(description="payment methods")
    def payment_methods(self, obj):
        """The methods on file, managed on their own page (billing/admin/payments.py)."""
        labels = [method.label for method in payment_methods_of(obj)]
        return format_html(
            '{} <a href="{}">Manage payment methods</a>',
            "; ".join(labels) if labels else "None on file.",
            reverse("admin:billing_paymentmethod_changelist"),
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
        limits = {f: data[f] for f in STAFF_EDITABLE if f in changed}
        if limits:
            self.call_service(
                organisation_update_limits, organisation=obj, actor=request.user, **limits
            )
