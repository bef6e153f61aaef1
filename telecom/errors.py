"""Domain errors, all of them: a business rule refused the request.

Each class carries its stable `code` (the API's and mass configuration's) and its sentence in
product language, `default_detail` (what the console and the webapp show; a service may give a
more precise one). The API maps them to 409 `{"code", "detail"}` (telecom.api), the console to an
error message (telecom.admin.bases `refusal_message`), mass configuration to a row error with the
same code. Field-level input errors are ordinary validation errors (400), not these.

`Conflict` is what a uniqueness or integrity conflict caught at the database becomes (the API's
exception handler), so a forgotten check is a 409 with a sentence, never a 500.
"""


class DomainError(Exception):
    code = "domain_error"
    default_detail = "This operation is not allowed."

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class NoLicenceAvailable(DomainError):
    code = "no_licence_available"
    default_detail = "No free licence of this type is available and the licence policy is block."


class PlanNumberLimitReached(DomainError):
    code = "plan_number_limit_reached"
    default_detail = "This member already holds the plan's maximum number of numbers."


class NumberChangeLimitReached(DomainError):
    code = "number_change_limit_reached"
    default_detail = "This licence has used all of its number changes."


class NumberUnavailable(DomainError):
    code = "number_unavailable"
    default_detail = "This number is not available."


class LicenceFull(DomainError):
    code = "licence_full"
    default_detail = "This licence has no free slot for a number of this type."


class LicenceInUse(DomainError):
    code = "licence_in_use"
    default_detail = "This licence is assigned or holds numbers; unassign it first."


class NotEnoughUnassignedLicences(DomainError):
    code = "not_enough_unassigned_licences"
    default_detail = "There are fewer unassigned licences of this type than asked."


class LicenceNotRemovable(DomainError):
    code = "licence_not_removable"
    default_detail = "This licence cannot be removed or restored in its current state."


class AddonNotAllowed(DomainError):
    code = "addon_not_allowed"
    default_detail = "This add-on does not fit this licence."


class ExtensionTaken(DomainError):
    code = "extension_taken"
    default_detail = "This extension is already used in the organisation."


class ExtensionNotSupported(DomainError):
    code = "extension_not_supported"
    default_detail = "This licence type does not carry an extension."


class AccountRestricted(DomainError):
    code = "account_restricted"
    default_detail = (
        "The account is restricted (no payment method on file, or an invoice is overdue)."
    )


class AccountSuspended(DomainError):
    code = "account_suspended"
    default_detail = (
        "The account is suspended: an invoice is more than 30 days overdue. Outgoing calls and "
        "messages resume once it is paid."
    )


class CallingCreditCapReached(DomainError):
    code = "calling_credit_cap_reached"
    default_detail = "This usage would exceed the organisation's calling-credit cap."


class CapabilityMissing(DomainError):
    code = "capability_missing"
    default_detail = "This number cannot do that."


class PortingNotCancellable(DomainError):
    code = "porting_not_cancellable"
    default_detail = "This porting request can no longer be cancelled."


class Conflict(DomainError):
    """A uniqueness or integrity conflict caught at the database (never a 500)."""

    code = "conflict"
    default_detail = "This conflicts with existing data."


class RemovalAlreadyEffective(DomainError):
    code = "removal_already_effective"
    default_detail = (
        "This licence's removal has already taken effect; it can no longer be restored. "
        "Buy a new licence instead."
    )


class LicenceNotActive(DomainError):
    code = "licence_not_active"
    default_detail = "This licence is scheduled for removal or terminated; restore it first."


class InvoiceNotPayable(DomainError):
    code = "invoice_not_payable"
    default_detail = "This invoice is not open for payment."


class CreditExceedsInvoice(DomainError):
    code = "credit_exceeds_invoice"
    default_detail = "This credit note is for more than is left to credit on the invoice."


class RefundNotPossible(DomainError):
    code = "refund_not_possible"
    default_detail = (
        "Nothing on this invoice was paid by a payment method that can be refunded automatically."
    )


class PaymentInProgress(DomainError):
    code = "payment_in_progress"
    default_detail = "A payment of this invoice is already in progress; try again in a moment."


class NoPaymentMethod(DomainError):
    code = "no_payment_method"
    default_detail = "Add a card or a direct-debit mandate first."


class PaymentMethodNotUsable(DomainError):
    code = "payment_method_not_usable"
    default_detail = (
        "This payment method cannot be used: it has expired or waits for authentication."
    )


class RemovalRestricts(DomainError):
    code = "removal_restricts"
    default_detail = (
        "This is the organisation's last payment method: without one, buying licences, taking "
        "numbers and porting stop until a new one is added. Confirm to remove it."
    )


class OrganisationClosed(DomainError):
    code = "organisation_closed"
    default_detail = "This organisation is closed."


class CloseNotRequested(DomainError):
    code = "close_not_requested"
    default_detail = "The organisation's owner has not asked for it to be closed."


def domain_error_codes() -> dict[str, type[DomainError]]:
    """Every domain error by its code (each code names one class)."""
    found: dict[str, type[DomainError]] = {}
    pending = [DomainError]
    while pending:
        cls = pending.pop()
        found[cls.code] = cls
        pending.extend(cls.__subclasses__())
    return found
