"""The payment provider: a boundary chosen in settings, like the carrier and the VAT checker
(docs/architecture.md, docs/payments.md).

`PAYMENT_PROVIDER` names the provider class; the default, `billing.payments.provider.LocalProvider`,
works offline (what `make run` and the tests use). The product keeps only what a provider returns
to show and charge a method (`MethodSetup`): a token, the brand, the last four digits and the
expiry, or the IBAN's last four and the mandate; never a full card number or IBAN.

The local provider's test cards (any future expiry, any CVC):

    4242 4242 4242 4242   always succeeds
    4000 0000 0000 9995   declined, insufficient funds (soft: retried)
    4000 0000 0000 0002   declined, card refused by its bank (hard: not retried)
    4000 0025 0000 3155   needs a second step (authentication) when added; succeeds afterwards
    any other number with a valid check digit: succeeds

SEPA: any IBAN with valid check digits is accepted (python-stdnum) and its debits succeed,
except an IBAN whose last four digits are 0002, whose debits are refused (hard: mandate
cancelled by the debtor's bank).

Refunds: a succeeded charge can be refunded in parts, never beyond what it charged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.module_loading import import_string
from stdnum import iban as stdnum_iban
from stdnum import luhn

from billing.payments.models import (
    DeclineKind,
    LocalProviderCharge,
    LocalProviderRefund,
    MethodKind,
    MethodStatus,
)


class MethodRefused(Exception):
    """The provider would not take the method (an invalid number, an expired card): `field`
    names the input at fault and the message is a sentence for the person."""

    def __init__(self, field: str, message: str, code: str):
        self.field, self.message, self.code = field, message, code
        super().__init__(message)


@dataclass(frozen=True)
class CardDetails:
    number: str
    exp_month: int
    exp_year: int
    holder: str = ""


@dataclass(frozen=True)
class MethodSetup:
    """What the provider gives back for a new method: all the product stores."""

    kind: str  # MethodKind
    token: str
    last4: str
    status: str = MethodStatus.ACTIVE  # or REQUIRES_ACTION: a second step is needed
    brand: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    mandate_reference: str = ""


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    reference: str  # the provider's id of the charge (also for a decline)
    decline: str = DeclineKind.NONE  # soft: worth retrying; hard: ask for another method
    reason: str = ""  # the provider's reason, in words


@dataclass(frozen=True)
class RefundResult:
    succeeded: bool
    reference: str  # the provider's id of the refund (also for a refusal)
    reason: str = ""  # the provider's reason, in words, when refused


class PaymentProvider(Protocol):
    """What every provider implements (a Stripe or GoCardless adapter too, docs/payments.md)."""

    name: str

    def card_add(self, card: CardDetails, *, today: date) -> MethodSetup: ...

    def sepa_mandate_add(self, *, iban: str, holder: str, reference: str) -> MethodSetup: ...

    def method_confirm(self, token: str) -> str:
        """Complete the second step of a method that needed one; its new MethodStatus."""
        ...

    def method_detach(self, token: str) -> None: ...

    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        """Charge `amount`; the same `idempotency_key` always gives the same answer and never a
        second charge (a retried request, a crashed worker's successor)."""
        ...

    def refund(
        self, *, charge_reference: str, amount: Decimal, idempotency_key: str
    ) -> RefundResult:
        """Give back `amount` of the charge `charge_reference`; the same `idempotency_key` always
        gives the same answer and never a second refund; never more than the charge less its
        earlier refunds (docs/payments.md)."""
        ...


TEST_CARDS = {
    "4242424242424242": ("ok", "Visa"),
    "4000000000009995": ("insufficient_funds", "Visa"),
    "4000000000000002": ("declined", "Visa"),
    "4000002500003155": ("authenticate", "Visa"),
}
_OUTCOMES = {
    "insufficient_funds": (DeclineKind.SOFT, "Insufficient funds."),
    "declined": (DeclineKind.HARD, "The card was refused by its bank."),
    "mandate_refused": (DeclineKind.HARD, "The bank refused the direct debit."),
}


def _brand(number: str) -> str:
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "Mastercard"
    if number[:2] in {"34", "37"}:
        return "American Express"
    return "Card"


class LocalProvider:
    """Offline: methods are tokens whose behaviour is in the token, charges a table of its own
    (`LocalProviderCharge`) keyed by idempotency key, standing for the provider's side."""

    name = "local"

    def card_add(self, card: CardDetails, *, today: date) -> MethodSetup:
        number = "".join(card.number.split()).replace("-", "")
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn.is_valid(number):
            raise MethodRefused("number", "This card number is not valid.", "invalid_number")
        if not 1 <= card.exp_month <= 12:
            raise MethodRefused("exp_month", "The expiry month is 1 to 12.", "invalid_expiry")
        if (card.exp_year, card.exp_month) < (today.year, today.month):
            raise MethodRefused("exp_year", "This card has expired.", "expired_card")
        behaviour, brand = TEST_CARDS.get(number, ("ok", _brand(number)))
        status = (
            MethodStatus.REQUIRES_ACTION if behaviour == "authenticate" else MethodStatus.ACTIVE
        )
        return MethodSetup(
            kind=MethodKind.CARD,
            token=f"pm_local_{behaviour}_{secrets.token_hex(8)}",
            last4=number[-4:],
            status=status,
            brand=brand,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )

    def sepa_mandate_add(self, *, iban: str, holder: str, reference: str) -> MethodSetup:
        compact = stdnum_iban.compact(iban or "")
        if not stdnum_iban.is_valid(compact):
            raise MethodRefused("iban", "This IBAN is not valid.", "invalid_iban")
        behaviour = "mandate_refused" if compact.endswith("0002") else "ok"
        return MethodSetup(
            kind=MethodKind.SEPA_DEBIT,
            token=f"pm_local_{behaviour}_{secrets.token_hex(8)}",
            last4=compact[-4:],
            mandate_reference=reference,
        )

    def method_confirm(self, token: str) -> str:
        return MethodStatus.ACTIVE

    def method_detach(self, token: str) -> None:
        return None

    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        existing = LocalProviderCharge.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            behaviour = token.removeprefix("pm_local_").rsplit("_", 1)[0]
            decline, reason = _OUTCOMES.get(behaviour, (DeclineKind.NONE, ""))
            try:
                # Its own transaction, as a provider's side commits whatever happens to ours.
                with transaction.atomic():
                    existing = LocalProviderCharge.objects.create(
                        idempotency_key=idempotency_key,
                        token=token,
                        amount=amount,
                        currency=currency,
                        succeeded=not decline,
                        decline=decline,
                        reason=reason,
                        reference=f"ch_local_{secrets.token_hex(8)}",
                    )
            except IntegrityError:  # the same key at the same moment: the first one answers
                existing = LocalProviderCharge.objects.get(idempotency_key=idempotency_key)
        return ChargeResult(
            succeeded=existing.succeeded,
            reference=existing.reference,
            decline=existing.decline,
            reason=existing.reason,
        )

    def refund(
        self, *, charge_reference: str, amount: Decimal, idempotency_key: str
    ) -> RefundResult:
        existing = LocalProviderRefund.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    existing = LocalProviderRefund.objects.create(
                        idempotency_key=idempotency_key,
                        charge_reference=charge_reference,
                        amount=amount,
                        reference=f"re_local_{secrets.token_hex(8)}",
                        **self._refund_outcome(charge_reference, amount),
                    )
            except IntegrityError:  # the same key at the same moment: the first one answers
                existing = LocalProviderRefund.objects.get(idempotency_key=idempotency_key)
        return RefundResult(
            succeeded=existing.succeeded, reference=existing.reference, reason=existing.reason
        )

    @staticmethod
    def _refund_outcome(charge_reference: str, amount: Decimal) -> dict:
        """Inside the caller's transaction: the charge is locked, so two refunds of one charge
        with different keys cannot both take what is left."""
        charge = (
            LocalProviderCharge.objects.select_for_update()
            .filter(reference=charge_reference, succeeded=True)
            .first()
        )
        if charge is None:
            return {"succeeded": False, "reason": "No such charge to refund."}
        refunded = LocalProviderRefund.objects.filter(
            charge_reference=charge_reference, succeeded=True
        ).aggregate(sum=Sum("amount"))["sum"] or Decimal("0.00")
        if amount <= 0 or amount > charge.amount - refunded:
            left = charge.amount - refunded
            return {
                "succeeded": False,
                "reason": f"Only {left} {charge.currency} of this charge is left to refund.",
            }
        return {"succeeded": True, "reason": ""}


def payment_provider() -> PaymentProvider:
    return import_string(settings.PAYMENT_PROVIDER)()
