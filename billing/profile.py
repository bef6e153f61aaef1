"""An organisation's billing details: who its invoices are addressed to, who receives them, and
the VAT they charge (docs/rules.md, "VAT"). Owners and finance change them in the console and
through `PATCH /api/v1/organisation/billing-profile/`; both call `billing_details_update`.
"""

from __future__ import annotations

import datetime as dt

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from stdnum import luhn
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as NumberError

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.models import BillingDetails
from billing.vat import EU_COUNTRIES, VatNumberStatus, vat_for
from billing.vat_check import vat_number_check
from telecom.locks import organisation_for_update

FIELDS = (
    "legal_name",
    "street",
    "postcode",
    "city",
    "country",
    "vat_number",
    "registration_number",
    "contacts",
    "purchase_order",
)
MAX_CONTACTS = 10
# The two-letter prefix of a VAT number where it differs from the ISO country code.
VAT_PREFIX = {"GR": "EL"}


def billing_details_current(organisation: Organisation) -> BillingDetails | None:
    """The version in force: the latest."""
    return BillingDetails.objects.filter(organisation=organisation).order_by("-version").first()


def vat_preview(organisation: Organisation) -> dict[str, str]:
    """The VAT treatment and sentence an invoice issued now will carry: those of the billing
    details in force, which `invoice_issue` stamps on it (docs/rules.md, "VAT by customer").
    Every preview shows them (purchase, upcoming renewal, removal); empty without details."""
    details = billing_details_current(organisation)
    if details is None:
        return {"vat_treatment": "", "vat_note": ""}
    return {"vat_treatment": details.vat_treatment, "vat_note": details.vat_note}


def billing_details_initial(organisation: Organisation) -> BillingDetails:
    """What a form starts from before the details are first set (unsaved): the organisation's
    name, country and current rate."""
    vat = vat_for(country=organisation.country)
    return BillingDetails(
        organisation=organisation,
        legal_name=organisation.name,
        country=organisation.country,
        vat_treatment=vat.treatment,
        tax_rate=organisation.tax_rate,
        created_at=None,
    )


def _clean_vat_number(raw: str, country: str) -> str:
    number = eu_vat.compact(raw or "") if raw else ""
    if not number or country not in EU_COUNTRIES:
        return number.upper()[:20]
    prefix = VAT_PREFIX.get(country, country)
    if not number.upper().startswith(prefix):
        number = prefix + number
    try:
        return eu_vat.validate(number)
    except NumberError:
        raise ValidationError(
            {
                "vat_number": ValidationError(
                    f"“{raw}” is not a valid VAT number for {country}: check the country "
                    f"prefix ({prefix}) and the digits.",
                    code="invalid_vat_number",
                )
            }
        ) from None


def _clean_registration(raw: str, country: str) -> str:
    """A French SIREN (9 digits) or SIRET (14) must pass its check digit; other countries' numbers
    are kept as given."""
    number = "".join((raw or "").split())
    if country == "FR" and number:
        if not (number.isascii() and number.isdigit() and len(number) in (9, 14)):
            raise ValidationError(
                {
                    "registration_number": ValidationError(
                        "A French company registration number is a SIREN (9 digits) or a SIRET "
                        "(14 digits).",
                        code="invalid_registration_number",
                    )
                }
            )
        if not luhn.is_valid(number):
            raise ValidationError(
                {
                    "registration_number": ValidationError(
                        f"{number} is not a valid SIREN or SIRET: a digit is wrong.",
                        code="invalid_registration_number",
                    )
                }
            )
    return number[:50]


def _clean_contacts(contacts) -> list[str]:
    if isinstance(contacts, str):
        contacts = contacts.replace(",", "\n").splitlines()
    cleaned: list[str] = []
    for raw in contacts or ():
        email = str(raw).strip().lower()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(
                {
                    "contacts": ValidationError(
                        f"“{raw}” is not an e-mail address.", code="invalid_email"
                    )
                }
            ) from None
        if email not in cleaned:
            cleaned.append(email)
    if len(cleaned) > MAX_CONTACTS:
        raise ValidationError(
            {
                "contacts": ValidationError(
                    f"At most {MAX_CONTACTS} billing contacts.", code="too_many_contacts"
                )
            }
        )
    return cleaned


def billing_details_clean(values: dict) -> dict:
    """The values as stored, or a ValidationError naming every field that is wrong."""
    errors: dict[str, ValidationError] = {}
    cleaned = {name: values.get(name, "") for name in FIELDS}
    for name in ("legal_name", "street", "postcode", "city", "registration_number"):
        cleaned[name] = " ".join(str(cleaned[name] or "").split())
    cleaned["purchase_order"] = str(cleaned["purchase_order"] or "").strip()
    for name, label in (
        ("legal_name", "the legal name"),
        ("street", "the street"),
        ("postcode", "the postcode"),
        ("city", "the city"),
    ):
        if not cleaned[name]:
            errors[name] = ValidationError(f"Give {label}.", code="required")
    country = str(cleaned["country"] or "").strip().upper()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        errors["country"] = ValidationError(
            "Give the country as its two-letter ISO code, e.g. FR or DE.", code="invalid_country"
        )
    cleaned["country"] = country
    if len(cleaned["purchase_order"]) > 100:
        errors["purchase_order"] = ValidationError(
            "A purchase order reference has at most 100 characters.", code="max_length"
        )
    for name, clean in (
        ("vat_number", lambda: _clean_vat_number(cleaned["vat_number"], country)),
        (
            "registration_number",
            lambda: _clean_registration(cleaned["registration_number"], country),
        ),
        ("contacts", lambda: _clean_contacts(cleaned["contacts"])),
    ):
        try:
            cleaned[name] = clean()
        except ValidationError as exc:
            errors.update(exc.error_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def billing_details_update(
    *, organisation: Organisation, actor, at: dt.datetime | None = None, **values
) -> BillingDetails:
    """A new version of the billing details (the fields not given keep their current value),
    with its VAT answer; the organisation's tax rate follows it. Nothing changes on a bad field.
    """
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError("This field cannot be set.", code="unknown") for name in unknown}
        )
    at = at or timezone.now()
    with transaction.atomic():
        org = organisation_for_update(organisation.pk)
        current = billing_details_current(org)
        merged = {name: getattr(current, name) if current else "" for name in FIELDS}
        if not current:
            merged["contacts"] = []
        cleaned = billing_details_clean({**merged, **values})
        status, detail = VatNumberStatus.NONE, ""
        if cleaned["vat_number"] and cleaned["country"] in EU_COUNTRIES:
            check = vat_number_check(cleaned["vat_number"], organisation=org, actor=actor, at=at)
            status, detail = check.status, check.detail
        vat = vat_for(
            country=cleaned["country"],
            vat_number=cleaned["vat_number"],
            status=status,
            detail=detail,
        )
        before = {name: getattr(current, name) for name in FIELDS} if current else {}
        if current and before == cleaned and current.vat_treatment == vat.treatment:
            return current
        version = BillingDetails.objects.create(
            organisation=org,
            version=current.version + 1 if current else 1,
            **cleaned,
            vat_number_status=status,
            vat_treatment=vat.treatment,
            vat_note=vat.note,
            tax_rate=vat.rate,
            created_at=at,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        if org.tax_rate != vat.rate:
            Organisation.objects.filter(pk=org.pk).update(tax_rate=vat.rate)
        changes = {
            name: {"from": before.get(name), "to": value}
            for name, value in cleaned.items()
            if before.get(name) != value
        }
        changes["vat_treatment"] = vat.treatment
        audit_record(
            organisation=org,
            actor=actor,
            action="billing_details.changed",
            target=version,
            changes=changes,
        )
    organisation.tax_rate = vat.rate
    return version
