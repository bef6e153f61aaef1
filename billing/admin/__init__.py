"""Console pages for billing: invoices, credit notes, commitments, charges (device orders), usage,
payments and payment methods, the e-mails of documents and the dashboard's billing figures. Every
page reads through the tenancy base and writes through one service. Importing the package
registers every admin (Django's autodiscovery)."""

from billing.admin import (
    billing_details,
    charges,
    commitments,
    credit_notes,
    dashboard,
    invoices,
    payments,
    usage,
)
from billing.admin.dashboard import billing_dashboard, calling_credits

__all__ = [
    "billing_dashboard",
    "billing_details",
    "calling_credits",
    "charges",
    "commitments",
    "credit_notes",
    "dashboard",
    "invoices",
    "payments",
    "usage",
]
