"""Billing details in the console: the versions (newest first, the first one in force) and
"Change billing details", a form filled from the version in force that adds a version through
billing.profile.billing_details_update. Owners and finance change them; versions are never
edited or deleted (invoices point at them)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse

from billing.documents import format_rate
from billing.models import BillingDetails
from billing.profile import (
    FIELDS,
    billing_details_clean,
    billing_details_current,
    billing_details_initial,
    billing_details_update,
)
from telecom.admin import TenantAdmin, is_platform_staff, organisation_of


class BillingDetailsForm(forms.ModelForm):
    contacts = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="E-mail addresses that receive invoices, one a line.",
    )

    class Meta:
        model = BillingDetails
        fields = FIELDS
        labels = {
            "legal_name": "Legal name",
            "vat_number": "VAT number",
            "registration_number": "Company registration number (SIREN or SIRET in France)",
            "purchase_order": "Purchase order reference (printed on invoices)",
        }
        help_texts = {"country": "Two-letter code, e.g. FR, DE, BE."}
        widgets = {
            "registration_number": forms.TextInput(),
            "purchase_order": forms.TextInput(),
        }

    def clean(self):
        data = super().clean()
        try:
            cleaned = billing_details_clean({name: data.get(name, "") for name in FIELDS})
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
            return data
        data.update(cleaned)
        return data

    def _post_clean(self):
        # The service validates and writes a new version; the form never builds the instance
        # (its contacts are text here, a list in the model).
        pass


@admin.register(BillingDetails)
class BillingDetailsAdmin(TenantAdmin):
    form = BillingDetailsForm
    list_display = ("version", "legal_name", "country", "vat_number", "vat", "created_at")
    list_display_links = ("version", "legal_name")
    list_select_related = ("organisation",)
    list_filter = ("organisation",)
    ordering = ("organisation", "-version")
    fields = FIELDS

    @admin.display(description="VAT on invoices")
    def vat(self, obj):
        return f"{obj.get_vat_treatment_display()}: {format_rate(obj.tax_rate)}"

    def changelist_view(self, request, extra_context=None):
        context = {"title": "Billing details (the first line is in force)"}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return FIELDS if obj is not None else ()

    def get_changeform_initial_data(self, request):
        organisation = organisation_of(request)
        if organisation is None:
            return {}
        current = billing_details_current(organisation) or billing_details_initial(organisation)
        initial = {name: getattr(current, name) for name in FIELDS}
        initial["contacts"] = "\n".join(current.contacts or [])
        return initial

    def add_view(self, request, form_url="", extra_context=None):
        if is_platform_staff(request):
            # Staff act on one organisation's details from its page; they own none.
            self.message_user(request, "Billing details are changed by the organisation.")
            return HttpResponseRedirect(reverse("admin:billing_billingdetails_changelist"))
        context = {
            "title": "Change billing details",
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
            **(extra_context or {}),
        }
        return super().add_view(request, form_url, context)

    def save_model(self, request, obj, form, change):
        version = self.call_service(
            billing_details_update,
            organisation=organisation_of(request),
            actor=request.user,
            **{name: form.cleaned_data[name] for name in FIELDS},
        )
        obj.pk = version.pk
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        version = BillingDetails.objects.get(pk=obj.pk)
        sentence = f"Billing details saved: invoices now go to {version.legal_name}"
        if version.vat_note:
            sentence += f". {version.vat_note}"
        self.message_user(request, sentence + ".")
        return HttpResponseRedirect(reverse("admin:billing_billingdetails_changelist"))
