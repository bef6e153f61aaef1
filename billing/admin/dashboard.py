"""The dashboard's billing figures."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.db.models import Count, Window
from django.urls import reverse

from accounts.models import Organisation
from billing.admin.invoices import _query
from billing.models import (
    Invoice,
    InvoiceStatus,
)
from billing.renewal import renewal_period, upcoming_quote
from billing.selectors import organisation_period, organisation_today
from billing.usage import usage_used
from telecom.admin import (
    is_platform_staff,
)


def calling_credits(organisation: Organisation) -> dict:
    """Rule 21: the current period's usage against the organisation's cap."""
    used = usage_used(organisation)
    cap = organisation.calling_credit_cap
    percent = min(Decimal(100), used * 100 / cap) if cap else Decimal(100)
    return {
        "used": used,
        "cap": cap,
        "left": max(cap - used, Decimal("0.00")),
        "percent": int(percent),
        "currency": organisation.currency,
        "period": organisation_period(organisation),
    }


def billing_dashboard(organisation: Organisation, request) -> dict:
    """The dashboard's billing figures: upcoming invoice, overdue invoices, calling credits.

    A fixed number of queries whatever the organisation's size.
    """
    if not request.user.has_perm("billing.view_invoice"):
        return {}
    staff_filter = (
        {"organisation__id__exact": organisation.pk} if is_platform_staff(request) else {}
    )
    overdue = Invoice.objects.filter(
        organisation=organisation,
        status=InvoiceStatus.ISSUED,
        due_on__lt=organisation_today(organisation),
    ).order_by("due_on", "sequence")
    quote = upcoming_quote(organisation)
    # The five shown and how many there are, in one query (the count is a window over all).
    counted = overdue.annotate(overdue_total=Window(Count("pk")))
    shown = list(counted.values_list("pk", "number", "overdue_total")[:5])
    overdue_count = shown[0][2] if shown else 0
    changelist = reverse("admin:billing_invoice_changelist")
    return {
        "upcoming_quote": quote,
        "upcoming_on": renewal_period(organisation).start,
        "upcoming_url": reverse("admin:billing_invoice_upcoming")
        + (_query({"organisation": organisation.pk}) if staff_filter else ""),
        "overdue_count": overdue_count,
        "overdue_invoices": [
            (reverse("admin:billing_invoice_change", args=[pk]), number) for pk, number, _ in shown
        ],
        "overdue_url": changelist + _query({"overdue": "yes", **staff_filter}),
        "calling_credits": calling_credits(organisation),
        "usage_url": reverse("admin:billing_usagerecord_changelist") + _query(staff_filter),
    }


admin.site.register_dashboard_panel(billing_dashboard)
