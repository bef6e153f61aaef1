"""Quotes: the figures a buyer reviews before confirming, and that the invoice then repeats."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from telecom.money import tax_amount


@dataclass(frozen=True)
class QuoteLine:
    description: str
    kind: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    licence_type: object | None = None  # licensing.LicenceType
    period_start: date | None = None
    period_end: date | None = None  # inclusive, as the API shows it


@dataclass(frozen=True)
class Quote:
    currency: str
    tax_rate: Decimal
    lines: list[QuoteLine] = field(default_factory=list)
    restored: int = 0
    purchased: int = 0
    # The VAT treatment the invoice will carry and its sentence (billing.profile.vat_preview).
    vat_treatment: str = ""
    vat_note: str = ""

    @property
    def restore_note(self) -> str:
        """What the review says of restored licences (rule 13), or "" when none is."""
        if not self.restored:
            return ""
        plural = "licence" if self.restored == 1 else "licences"
        return f"{self.restored} {plural} scheduled for removal will be restored, no charge."

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return tax_amount(subtotal=self.subtotal, rate=self.tax_rate)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax
