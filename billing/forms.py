"""Forms of the console's billing pages. They parse input; the services decide.

Choices a member is offered come from querysets scoped to their organisation; platform staff pick
the organisation they act for. A posted id outside those choices fails as "Select a valid choice",
exactly like an id that does not exist.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Organisation
from billing.models import Invoice, InvoiceLineKind, RecordedPaymentMethod
from billing.payments.refunds import refund_plan
from billing.quotes import Quote, QuoteLine
from licensing.models import Device, LicenceType
from telecom.money import MAX_AMOUNT, to_cents
from telecom.quantities import MAX_QUANTITY, AsciiDecimalFormField, AsciiIntegerFormField


class DateRangeForm(forms.Form):
    """Invoices issued from one local date to another, both included (API.md "Billing")."""

    issued_from = forms.DateField(
        label="Issued from", widget=forms.DateInput(attrs={"type": "date"})
    )
    issued_to = forms.DateField(label="Issued to", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("issued_from"), data.get("issued_to")
        if start and end and end < start:
            raise ValidationError("The range ends before it starts.", code="invalid_range")
        return data


class PaymentForm(forms.Form):
    """Platform staff record a payment received: how it was paid and its reference, both
    required (billing.services.invoice_record_payment checks them again)."""

    method = forms.ChoiceField(
        choices=RecordedPaymentMethod.choices,
        initial=RecordedPaymentMethod.BANK_TRANSFER,
        error_messages={"required": "Say how the invoice was paid."},
    )
    reference = forms.CharField(
        max_length=100,
        help_text="The bank's or the processor's reference.",
        error_messages={
            "required": "Give the bank's or the processor's reference of the payment, so it "
            "can be traced."
        },
    )


class CreditReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=300, help_text="Printed on the credit note and kept in the audit trail."
    )


class CreditNoteForm(CreditReasonForm):
    """What a credit note takes back (billing.credit_notes.credit_note_preview decides)."""

    what = forms.ChoiceField(
        label="Credit",
        choices=[
            ("whole", "The whole invoice (what is left to credit)"),
            ("lines", "Some lines"),
            ("amount", "An amount"),
        ],
        initial="whole",
        widget=forms.RadioSelect,
    )
    lines = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    amount = AsciiDecimalFormField(
        required=False, max_digits=12, decimal_places=2, label="Amount excluding tax"
    )
    refund = forms.BooleanField(
        required=False,
        label="Refund to the original payment method",
        help_text="The review shows how much goes back, and to which card or account.",
    )
    field_order = ["what", "lines", "amount", "reason", "refund"]

    def __init__(self, *args, invoice: Invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        # Only when a payment method paid something not refunded yet (docs/rules.md, "Refunds").
        if not refund_plan(invoice, invoice.total).parts:
            del self.fields["refund"]
        self.fields["lines"].choices = [
            (line.position, f"{line.description}: {line.amount} {invoice.currency}")
            for line in invoice.lines.order_by("position")
        ]

    def clean(self):
        data = super().clean()
        if data.get("what") == "lines" and not data.get("lines"):
            self.add_error("lines", ValidationError("Choose the lines to credit.", code="required"))
        if data.get("what") == "amount" and data.get("amount") is None:
            self.add_error("amount", ValidationError("Give the amount to credit.", code="required"))
        return data

    def arguments(self) -> dict:
        data = self.cleaned_data
        what = {
            "whole": {"whole": True},
            "lines": {"lines": [{"position": position} for position in data.get("lines") or []]},
            "amount": {"amount": data.get("amount")},
        }[data["what"]]
        refund = {"refund": True} if data.get("refund") else {}
        return {"invoice": self.invoice, "reason": data["reason"], **what, **refund}


class CorrectedLineForm(forms.Form):
    """One line of the corrected invoice; amount = quantity × unit price, to the cent."""

    description = forms.CharField(max_length=300)
    kind = forms.ChoiceField(choices=InvoiceLineKind.choices)
    quantity = AsciiIntegerFormField(min_value=1, max_value=100_000)
    unit_price = AsciiDecimalFormField(max_digits=12, decimal_places=2)
    # Carried over from the line being corrected, so exports still name the licence type.
    licence_type = forms.ModelChoiceField(
        queryset=LicenceType.objects.all(), required=False, widget=forms.HiddenInput
    )
    period_start = forms.DateField(required=False, widget=forms.HiddenInput)
    period_end = forms.DateField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        quantity, unit_price = data.get("quantity"), data.get("unit_price")
        if (
            quantity is not None
            and unit_price is not None
            and abs(to_cents(unit_price * quantity)) > MAX_AMOUNT
        ):
            self.add_error(
                "quantity",
                ValidationError(
                    f"This line would come to more than {MAX_AMOUNT}, more than an invoice can "
                    "hold.",
                    code="out_of_range",
                ),
            )
        return data

    def quote_line(self) -> QuoteLine:
        data = self.cleaned_data
        return QuoteLine(
            description=data["description"],
            kind=data["kind"],
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            amount=to_cents(data["unit_price"] * data["quantity"]),
            licence_type=data.get("licence_type"),
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
        )


class _CorrectedLinesFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        # Blank extra rows have no cleaned data; rows ticked "delete" are dropped.
        kept = [f for f in self.forms if f.cleaned_data and not self._should_delete_form(f)]
        if not kept:
            raise ValidationError("A corrected invoice has at least one line.", code="no_lines")
        subtotal = sum((f.quote_line().amount for f in kept), Decimal("0.00"))
        if subtotal * 2 > MAX_AMOUNT:  # with its tax (a rate under 100 %)
            raise ValidationError(
                "The corrected invoice would come to more than an invoice can hold.",
                code="out_of_range",
            )
        if subtotal < 0:
            raise ValidationError(
                "The corrected subtotal is negative; an invoice cannot be.", code="negative"
            )
        self.kept = kept


CorrectedLinesFormSet = forms.formset_factory(
    CorrectedLineForm, formset=_CorrectedLinesFormSet, extra=2, can_delete=True, max_num=100
)


def corrected_lines_initial(invoice: Invoice) -> list[dict]:
    """The invoice's own lines, as the starting point of its correction."""
    return [
        {
            "description": line.description,
            "kind": line.kind,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "licence_type": line.licence_type_id,
            "period_start": line.period_start,
            "period_end": line.period_end,
        }
        for line in invoice.lines.order_by("position")
    ]


def corrected_quote(invoice: Invoice, formset: CorrectedLinesFormSet) -> Quote:
    """The corrected invoice, in the credited one's currency and tax rate."""
    return Quote(
        currency=invoice.currency,
        tax_rate=invoice.tax_rate,
        lines=[form.quote_line() for form in formset.kept],
    )


class DeviceOrderForm(forms.Form):
    """Rule 22: devices are one-off charges on the next invoice."""

    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"),
        help_text="Platform staff: the organisation the devices are for.",
    )
    device = forms.ModelChoiceField(queryset=Device.objects.order_by("name"))
    quantity = AsciiIntegerFormField(
        initial=1,
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={
            "min_value": "Order at least one device: the quantity must be 1 or more.",
            "max_value": f"At most {MAX_QUANTITY} devices in one order.",
        },
    )

    def __init__(self, *args, organisation: Organisation | None, **kwargs):
        super().__init__(*args, **kwargs)
        self._organisation = organisation
        if organisation is not None:
            del self.fields["organisation"]
            # Only devices sold in the organisation's currency.
            self.fields["device"].queryset = Device.objects.filter(
                prices__currency=organisation.currency
            ).order_by("name")

    @property
    def target_organisation(self) -> Organisation:
        return self._organisation or self.cleaned_data["organisation"]

    def clean(self):
        data = super().clean()
        device = data.get("device")
        organisation = self._organisation or data.get("organisation")
        if (
            device
            and organisation
            and not device.prices.filter(currency=organisation.currency).exists()
        ):
            self.add_error("device", f"{device.name} is not sold in {organisation.currency}.")
        return data


def parse_date(value: str | None) -> date | None:
    """A `YYYY-MM-DD` query parameter, or None when it is missing or malformed."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
