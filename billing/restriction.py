"""Rule 18, restriction: an organisation with no usable payment method, or an invoice overdue,
cannot buy licences, take numbers or port (docs/rules.md). An invoice unpaid
SUSPEND_AFTER_DAYS_PAST_DUE days past its due date suspends it: no outgoing calls or messages
either (docs/rules.md, dunning). Paying everything due lifts both. It belongs to the billing
ledger, which knows invoices; the layers above (licensing, numbering, mass configuration, the
console and the API) ask here."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings

from accounts.models import Organisation
from billing.models import Invoice, InvoiceStatus
from billing.selectors import organisation_has_overdue_invoice, organisation_today


def organisation_is_restricted(organisation: Organisation, *, at: datetime | None = None) -> bool:
    """Rule 18: no payment method on file, or an invoice overdue."""
    if not organisation.has_payment_method:
        return True
    today = organisation_today(organisation, at=at)
    return organisation_has_overdue_invoice(organisation, today=today)


def organisation_is_suspended(organisation: Organisation, *, at: datetime | None = None) -> bool:
    """Docs/rules.md, dunning: an invoice unpaid SUSPEND_AFTER_DAYS_PAST_DUE days past due."""
    today = organisation_today(organisation, at=at)
    return organisation_has_overdue_invoice(
        organisation, today=today - timedelta(days=settings.SUSPEND_AFTER_DAYS_PAST_DUE)
    )


def organisation_status(organisation: Organisation, *, at: datetime | None = None) -> str:
    if organisation.closed_at:
        return "closed"
    if organisation_is_suspended(organisation, at=at):
        return "suspended"
    return "restricted" if organisation_is_restricted(organisation, at=at) else "active"


@dataclass(frozen=True)
class Standing:
    """Where the organisation stands on the ladder, why, and the one action that lifts it."""

    state: str  # active, restricted, suspended or closed
    reasons: list[str] = field(default_factory=list)
    action: str = ""
    pay: bool = False  # the action is paying the overdue invoices (else adding a method)


def organisation_standing(organisation: Organisation, *, at: datetime | None = None) -> Standing:
    """What the dashboard and the webapp show (docs/rules.md, dunning)."""
    state = organisation_status(organisation, at=at)
    if state == "active":
        return Standing(state)
    action = organisation_lifting_action(organisation, at=at)
    return Standing(
        state,
        organisation_restriction_reasons(organisation, at=at),
        action,
        pay=action.startswith("Pay"),
    )


def organisation_lifting_action(organisation: Organisation, *, at: datetime | None = None) -> str:
    """The one thing that lifts the restriction or the suspension, in words; empty if none."""
    if organisation.closed_at:
        return ""
    today = organisation_today(organisation, at=at)
    if organisation_has_overdue_invoice(organisation, today=today):
        return "Pay the overdue invoices from Billing."
    if not organisation.has_payment_method:
        return "Add a card or a direct-debit mandate under Payment methods."
    return ""


def organisation_restriction_reasons(
    organisation: Organisation, *, at: datetime | None = None
) -> list[str]:
    """Rule 18, explained: why the organisation is restricted; empty when it is not."""
    reasons = []
    if organisation.closed_at:
        reasons.append("The organisation is closed.")
    if not organisation.has_payment_method:
        reasons.append("No usable payment method is on file.")
    overdue = list(
        Invoice.objects.filter(
            organisation=organisation,
            status=InvoiceStatus.ISSUED,
            due_on__lt=organisation_today(organisation, at=at),
        )
        .order_by("due_on", "sequence")
        .values_list("number", flat=True)[:6]
    )
    if overdue:
        shown = ", ".join(overdue[:5]) + (", ..." if len(overdue) > 5 else "")
        reasons.append(f"An invoice is overdue: {shown}.")
    if organisation_is_suspended(organisation, at=at):
        days = settings.SUSPEND_AFTER_DAYS_PAST_DUE
        reasons.append(
            f"An invoice is more than {days} days overdue: outgoing calls and messages are "
            "stopped until it is paid."
        )
    return reasons
