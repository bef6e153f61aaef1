"""VAT by customer (docs/rules.md, "VAT"): which rate an invoice charges and what it must say.

Pure: the seller's country and rate come from settings (`INVOICE_SELLER["country"]`,
`SELLER_VAT_RATE`), the customer's country and the state of its VAT number from its billing
details. The answer is stored with the billing details (billing.profile), so every quote, the
renewal and the invoice read the same rate and the same sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# EU member states by ISO 3166 code (VAT numbers write Greece "EL").
EU_COUNTRIES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    }
)
# Stored in English with the billing details; printed in the document's language by
# `vat_note_text` (billing/locale) — docs/rules.md, "VAT".
REVERSE_CHARGE_NOTE = gettext_noop(
    "Reverse charge — VAT due by the recipient (Article 196, Directive 2006/112/EC)"
)
OUTSIDE_EU_NOTE = gettext_noop("Outside the scope of EU VAT")
INVALID_NOTE = gettext_noop("VAT charged: the VAT number %(number)s is not valid.")
UNCHECKED_NOTE = gettext_noop("VAT charged: the VAT number %(number)s could not be checked.")
UNCHECKED_DETAIL_NOTE = gettext_noop(
    "VAT charged: the VAT number %(number)s could not be checked (%(detail)s)."
)
_NOTE_PATTERNS = [
    (
        re.compile(
            "^"
            + re.escape(template)
            .replace(re.escape("%(number)s"), r"(?P<number>.+?)")
            .replace(re.escape("%(detail)s"), r"(?P<detail>.*)")
            + "$"
        ),
        template,
    )
    for template in (INVALID_NOTE, UNCHECKED_DETAIL_NOTE, UNCHECKED_NOTE)
]


def vat_note_text(note: str) -> str:
    """A stored VAT note in the active language (translation.override by the caller)."""
    if not note:
        return ""
    for pattern, template in _NOTE_PATTERNS:
        match = pattern.match(note)
        if match:
            return _(template) % match.groupdict()
    return _(note)


class VatTreatment(models.TextChoices):
    DOMESTIC = "domestic", "VAT at the seller's rate (same country)"
    REVERSE_CHARGE = "reverse_charge", "Reverse charge (EU business with a valid VAT number)"
    EU_CHARGED = "eu_charged", "VAT at the seller's rate (EU, no valid VAT number)"
    OUTSIDE_EU = "outside_eu", "No VAT (outside the EU)"


class VatNumberStatus(models.TextChoices):
    NONE = "", "No VAT number"
    VALID = "valid", "Valid"
    INVALID = "invalid", "Not valid"
    UNAVAILABLE = "unavailable", "Could not be checked"


@dataclass(frozen=True)
class Vat:
    treatment: str
    rate: Decimal  # a fraction: Decimal("0.2000") for 20 %
    note: str  # printed on the invoice and shown in every review; "" when nothing to say


def seller_country() -> str:
    return str((getattr(settings, "INVOICE_SELLER", None) or {}).get("country", "FR")).upper()


def seller_rate() -> Decimal:
    return Decimal(str(getattr(settings, "SELLER_VAT_RATE", "0.2000")))


def vat_for(
    *, country: str, vat_number: str = "", status: str = VatNumberStatus.NONE, detail: str = ""
) -> Vat:
    """The VAT an invoice to a customer in `country` charges, given its VAT number's check.

    Same country as the seller: the seller's rate. Another EU country with a number confirmed
    valid: no VAT, reverse charged. Another EU country otherwise: the seller's rate, and when a
    number was given the invoice says why it was not reverse charged (fail closed: a number
    that could not be checked is charged). Outside the EU: no VAT.
    """
    country = country.upper()
    if country == seller_country():
        return Vat(VatTreatment.DOMESTIC, seller_rate(), "")
    if country not in EU_COUNTRIES:
        return Vat(VatTreatment.OUTSIDE_EU, Decimal("0.0000"), OUTSIDE_EU_NOTE)
    if status == VatNumberStatus.VALID:
        return Vat(VatTreatment.REVERSE_CHARGE, Decimal("0.0000"), REVERSE_CHARGE_NOTE)
    note = ""
    if status == VatNumberStatus.INVALID:
        note = INVALID_NOTE % {"number": vat_number}
    elif status == VatNumberStatus.UNAVAILABLE:
        note = (UNCHECKED_DETAIL_NOTE if detail else UNCHECKED_NOTE) % {
            "number": vat_number,
            "detail": detail,
        }
    return Vat(VatTreatment.EU_CHARGED, seller_rate(), note)
