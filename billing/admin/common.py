"""What the billing pages share: the organisation's local day in SQL, the overdue condition,
the organisation a page is about and the invoice column."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import DateField, DateTimeField, F, Func, Q, Value
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import Organisation
from billing.models import (
    InvoiceStatus,
)
from telecom.admin import (
    organisation_from_param,
    organisation_of,
)


def local_today_sql(at=None):
    """SQL: the local date of each row's organisation at `at` (now), from its own time zone.

    Overdue is "issued and past due" by the organisation's local date (docs/rules.md, billing); this
    answers it for every organisation in one query, so platform staff's list is exact too.
    """
    moment = Value(at or timezone.now(), output_field=DateTimeField())
    local = Func(
        F("organisation__timezone"), moment, function="timezone", output_field=DateTimeField()
    )
    return Cast(local, DateField())


def overdue_q(at=None) -> Q:
    return Q(status=InvoiceStatus.ISSUED, due_on__lt=local_today_sql(at))


def _picked_organisation(request) -> Organisation | None:
    """Platform staff name the organisation in `?organisation=`; members have their own."""
    return organisation_of(request) or organisation_from_param(request.GET.get("organisation"))


@admin.display(description="invoice")
def invoice_billed_on(modeladmin, obj):
    """The invoice a charge or a usage record is on, linked; or "next invoice"."""
    if obj.invoice_id is None:
        return "next invoice"
    url = reverse("admin:billing_invoice_change", args=[obj.invoice_id])
    return format_html('<a href="{}">{}</a>', url, obj.invoice.number)
