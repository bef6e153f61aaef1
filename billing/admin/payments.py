"""Payment methods and "Pay now" in the console (docs/rules.md, payments).

Owners add cards and SEPA mandates, choose the default and remove them (the last one after a page
saying that the organisation will be restricted); finance and admins see them. Owners and finance
"Pay now" an open invoice with a method of their choice; an invoice's page lists its payments and
its failed attempts. Every write is a billing/payments service.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone

from accounts.roles import Cap, has_capability
from billing.models import Invoice, InvoiceStatus, PaymentMethod
from billing.payments.collection import invoice_pay_now
from billing.payments.methods import (
    payment_method_add_card,
    payment_method_add_sepa,
    payment_method_confirm,
    payment_method_removal_restricts,
    payment_method_remove,
    payment_method_set_default,
    usable_methods,
)
from billing.payments.models import AttemptStatus, MethodStatus, Refund
from billing.payments.refunds import method_short_label
from billing.restriction import organisation_standing
from billing.selectors import invoice_amount_due, organisation_today
from telecom.admin import ActionPages, ServiceRefused, TenantAdmin, organisation_of, posted
from telecom.quantities import AsciiIntegerFormField


class CardForm(forms.Form):
    number = forms.CharField(label="Card number", max_length=40)
    exp_month = AsciiIntegerFormField(label="Expiry month", min_value=1, max_value=12)
    exp_year = AsciiIntegerFormField(label="Expiry year", min_value=2000, max_value=2100)
    holder = forms.CharField(label="Name on the card", max_length=100, required=False)


class SepaForm(forms.Form):
    iban = forms.CharField(label="IBAN", max_length=50)
    holder = forms.CharField(label="Account holder", max_length=100)
    accept = forms.BooleanField(
        label="I authorise debits from this account for this organisation's invoices (SEPA "
        "direct-debit mandate, signed today).",
        error_messages={"required": "Accept the mandate to add the account."},
    )


class PayNowForm(forms.Form):
    method = forms.ModelChoiceField(
        queryset=PaymentMethod.objects.none(),
        label="Pay with",
        empty_label=None,
        error_messages={"invalid_choice": "Choose one of the payment methods listed."},
    )

    def __init__(self, *args, methods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].queryset = methods
        self.fields["method"].label_from_instance = lambda method: method.label


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ActionPages, TenantAdmin):
    page_templates = "admin/billing/paymentmethod"
    list_display = ("label", "kind", "status", "is_default", "created_at", "organisation")
    list_filter = ("kind", "status")
    fields = (
        "label",
        "kind",
        "status",
        "is_default",
        "holder",
        "mandate_reference",
        "mandate_signed_on",
        "created_at",
        "organisation",
    )
    readonly_fields = fields
    ordering = ("-is_default", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(removed_at__isnull=True)

    def has_add_permission(self, request):
        return has_capability(request.user, Cap.PAYMENT_METHODS_MANAGE) and bool(
            organisation_of(request)
        )

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def can_manage(self, request) -> bool:
        return self.has_add_permission(request)

    @admin.display(description="payment method")
    def label(self, obj):
        return obj.label

    def _url(self, name: str, method: PaymentMethod | None = None) -> str:
        args = [method.pk] if method is not None else []
        return reverse(f"admin:billing_paymentmethod_{name}", args=args)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("add/", wrap(self.add_card_view), name="billing_paymentmethod_add"),
            path("add-sepa/", wrap(self.add_sepa_view), name="billing_paymentmethod_add_sepa"),
            path(
                "<path:object_id>/remove/",
                wrap(self.remove_view),
                name="billing_paymentmethod_remove",
            ),
            path(
                "<path:object_id>/default/",
                wrap(self.default_view),
                name="billing_paymentmethod_default",
            ),
            path(
                "<path:object_id>/authenticate/",
                wrap(self.confirm_view),
                name="billing_paymentmethod_confirm",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        tools = []
        if self.can_manage(request):
            tools = [
                (self._url("add"), "Add a card"),
                (self._url("add_sepa"), "Add a SEPA mandate"),
            ]
        return super().changelist_view(request, {"method_tools": tools, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        method = self.get_object(request, object_id)
        tools = []
        if method is not None and self.can_manage(request):
            if method.status == MethodStatus.REQUIRES_ACTION:
                tools.append((self._url("confirm", method), "Complete authentication"))
            elif not method.is_default:
                tools.append((self._url("default", method), "Make default"))
            tools.append((self._url("remove", method), "Remove"))
        return super().change_view(
            request, object_id, form_url, {"method_tools": tools, **(extra_context or {})}
        )

    def _require_manage(self, request) -> None:
        if not self.can_manage(request):
            raise PermissionDenied

    def _add(self, request, form_class, service, title, **extra):
        self._require_manage(request)
        form = form_class(posted(request))
        if request.method == "POST" and form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "accept"}
            try:
                method = self.call_service(
                    service, organisation=organisation_of(request), actor=request.user, **data
                )
            except ServiceRefused as exc:
                _form_errors(form, exc)
            else:
                if method.status == MethodStatus.REQUIRES_ACTION:
                    self.message_user(
                        request,
                        f"{method.label} needs authentication by its bank before it can be used.",
                        messages.WARNING,
                    )
                    return HttpResponseRedirect(self._url("change", method))
                self.message_user(request, f"{method.label} added.", messages.SUCCESS)
                return HttpResponseRedirect(self._url("changelist"))
        return self.action_page(request, "add.html", title, form=form, **extra)

    def add_card_view(self, request, form_url="", extra_context=None):
        return self._add(request, CardForm, payment_method_add_card, "Add a card")

    def add_sepa_view(self, request):
        return self._add(request, SepaForm, payment_method_add_sepa, "Add a SEPA mandate")

    def _method_action(self, request, object_id, service, message):
        method, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        self._require_manage(request)
        if request.method == "POST":
            try:
                self.call_service(
                    service,
                    organisation=method.organisation,
                    method_id=method.pk,
                    actor=request.user,
                )
            except ServiceRefused as exc:
                self.refused(request, exc)
            else:
                self.message_user(request, message.format(method.label), messages.SUCCESS)
        return HttpResponseRedirect(self._url("change", method))

    def default_view(self, request, object_id):
        return self._method_action(
            request, object_id, payment_method_set_default, "{} is now charged by default."
        )

    def confirm_view(self, request, object_id):
        return self._method_action(
            request, object_id, payment_method_confirm, "{}: authentication completed."
        )

    def remove_view(self, request, object_id):
        """A confirmation page; it says so when the removal restricts the organisation."""
        method, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        self._require_manage(request)
        restricts = payment_method_removal_restricts(method.organisation, method)
        if request.method == "POST":
            try:
                self.call_service(
                    payment_method_remove,
                    organisation=method.organisation,
                    method_id=method.pk,
                    actor=request.user,
                    restriction_confirmed=restricts,
                )
            except ServiceRefused as exc:
                self.refused(request, exc)
                return HttpResponseRedirect(self._url("change", method))
            self.message_user(request, f"{method.label} removed.", messages.SUCCESS)
            return HttpResponseRedirect(self._url("changelist"))
        return self.action_page(
            request, "remove.html", f"Remove {method.label}?", original=method, restricts=restricts
        )


def _form_errors(form: forms.Form, exc: ServiceRefused) -> None:
    """A provider's refusal (invalid number, expired card, invalid IBAN) on its field."""
    cause = exc.cause
    for field, errors in getattr(cause, "error_dict", {}).items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error.messages[0])
    if not getattr(cause, "error_dict", None):
        form.add_error(None, exc.message)


class InvoicePayments:
    """Mixed into InvoiceAdmin: "Pay now" and the invoice's payments and attempts."""

    def can_pay(self, request) -> bool:
        return has_capability(request.user, Cap.INVOICES_PAY) and bool(organisation_of(request))

    def payment_tools(self, request, invoice: Invoice) -> list[tuple[str, str]]:
        if invoice.status == InvoiceStatus.ISSUED and self.can_pay(request):
            url = reverse("admin:billing_invoice_pay", args=[invoice.pk])
            return [(url, "Pay now")]
        return []

    def payment_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<path:object_id>/pay/", wrap(self.pay_view), name="billing_invoice_pay")]

    def payment_context(self, invoice: Invoice) -> dict:
        """What the invoice page shows under the document: what is left to pay and every
        attempt to charge a payment method, failed ones with the provider's reason."""
        attempts = invoice.payment_attempts.select_related("payment_method").order_by("number")
        refunds = (
            Refund.objects.filter(payment__invoice=invoice)
            .select_related("credit_note", "payment__attempt__payment_method")
            .order_by("created_at")
        )
        return {
            "refunds": [
                {
                    "at": timezone.localtime(refund.created_at),
                    "credit_note": refund.credit_note.number,
                    "method": method_short_label(refund.payment.attempt.payment_method),
                    "amount": refund.amount,
                    "outcome": refund.get_status_display(),
                    "reason": refund.reason,
                }
                for refund in refunds
            ],
            "amount_due": invoice_amount_due(invoice),
            "payment_attempts": [
                {
                    "at": timezone.localtime(attempt.created_at),
                    "method": attempt.payment_method.label,
                    "amount": attempt.amount,
                    "outcome": attempt.get_status_display(),
                    "reason": attempt.reason,
                    "trigger": attempt.get_trigger_display(),
                }
                for attempt in attempts
            ],
        }

    def pay_view(self, request, object_id):
        invoice, missing = self.object_or_missing(request, object_id)
        if missing:
            return missing
        if not self.can_pay(request):
            raise PermissionDenied
        today = organisation_today(invoice.organisation)
        methods = usable_methods(invoice.organisation, today=today).order_by("-is_default")
        form = PayNowForm(posted(request), methods=methods)
        back = HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))
        if request.method == "POST" and form.is_valid():
            try:
                attempt = self.call_service(
                    invoice_pay_now,
                    organisation=invoice.organisation,
                    invoice_id=invoice.pk,
                    actor=request.user,
                    method_id=form.cleaned_data["method"].pk,
                )
            except ServiceRefused as exc:
                self.refused(request, exc)
                return back
            if attempt.status == AttemptStatus.SUCCEEDED:
                self.message_user(
                    request,
                    f"{attempt.amount} {attempt.currency} paid: invoice {invoice.number} is paid.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    f"The payment was declined: {attempt.reason} Try another payment method.",
                    messages.ERROR,
                )
            return back
        return self.action_page(
            request,
            "admin/billing/invoice/pay.html",
            f"Pay {invoice.number}",
            original=invoice,
            form=form,
            amount_due=invoice_amount_due(invoice),
            methods_url=reverse("admin:billing_paymentmethod_changelist"),
        )


def payment_standing_panel(organisation, request) -> dict:
    """The dashboard's account standing: state, why, and a link to the one action lifting it."""
    standing = organisation_standing(organisation)
    if standing.pay:
        url = reverse("admin:billing_invoice_changelist") + "?status__exact=issued&overdue=yes"
    else:
        url = reverse("admin:billing_paymentmethod_changelist")
    return {"standing": standing, "standing_url": url}


admin.site.register_dashboard_panel(payment_standing_panel)
