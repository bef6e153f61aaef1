"""Payment methods: owners add cards and SEPA mandates, choose the default and remove them
(docs/rules.md, payments). Each service is one transaction under the organisation's lock
(docs/architecture.md) and records an audit row.

Rule 18 asks whether the organisation has a usable payment method: an active, unexpired one.
The organisation's `payment_method_kind` / `payment_method_reference` are kept equal to its
default usable method (its kind and provider token) by these services and by the daily check of
expired cards (`payment_methods_expire`), so the restriction check reads the organisation row
it already holds.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.payments.models import MethodKind, MethodStatus, PaymentMethod
from billing.payments.provider import CardDetails, MethodRefused, MethodSetup, payment_provider
from billing.selectors import organisation_today
from telecom.errors import PaymentMethodNotUsable, RemovalRestricts
from telecom.locks import organisation_for_update


def payment_methods_of(organisation: Organisation) -> QuerySet[PaymentMethod]:
    """The organisation's methods on file (removed ones left out), the default first."""
    return PaymentMethod.objects.filter(organisation=organisation, removed_at__isnull=True)


def usable_methods(organisation: Organisation, *, today: date) -> QuerySet[PaymentMethod]:
    """Active methods whose card, if a card, has not expired by `today`."""
    not_expired = (
        Q(kind=MethodKind.SEPA_DEBIT)
        | Q(exp_year__isnull=True)
        | Q(exp_year__gt=today.year)
        | Q(exp_year=today.year, exp_month__gte=today.month)
    )
    return payment_methods_of(organisation).filter(not_expired, status=MethodStatus.ACTIVE)


def default_method(organisation: Organisation, *, today: date) -> PaymentMethod | None:
    return usable_methods(organisation, today=today).filter(is_default=True).first()


def _refresh_default(org: Organisation, *, today: date) -> None:
    """Keep one default among the usable methods, and the organisation's summary equal to it."""
    usable = usable_methods(org, today=today)
    chosen = usable.filter(is_default=True).first()
    if chosen is None:
        payment_methods_of(org).filter(is_default=True).update(is_default=False)
        chosen = usable.order_by("created_at").first()
        if chosen is not None:
            chosen.is_default = True
            chosen.save(update_fields=["is_default"])
    kind, reference = (chosen.kind, chosen.token) if chosen else ("", "")
    if (org.payment_method_kind, org.payment_method_reference) != (kind, reference):
        org.payment_method_kind, org.payment_method_reference = kind, reference
        org.save(update_fields=["payment_method_kind", "payment_method_reference"])


def _add(org: Organisation, setup: MethodSetup, *, actor, at: datetime, **fields) -> PaymentMethod:
    method = PaymentMethod.objects.create(
        organisation=org,
        kind=setup.kind,
        status=setup.status,
        provider=payment_provider().name,
        token=setup.token,
        brand=setup.brand,
        last4=setup.last4,
        exp_month=setup.exp_month,
        exp_year=setup.exp_year,
        mandate_reference=setup.mandate_reference,
        created_at=at,
        created_by=actor if getattr(actor, "pk", None) else None,
        **fields,
    )
    _refresh_default(org, today=organisation_today(org, at=at))
    method.refresh_from_db()
    audit_record(
        organisation=org,
        actor=actor,
        action="payment_method.added",
        target=method,
        changes={"kind": method.kind, "last4": method.last4, "status": method.status},
    )
    return method


def _refused(exc: MethodRefused) -> ValidationError:
    return ValidationError({exc.field: ValidationError(exc.message, code=exc.code)})


@transaction.atomic
def payment_method_add_card(
    *,
    organisation: Organisation,
    actor,
    number: str,
    exp_month: int,
    exp_year: int,
    holder: str = "",
    at: datetime | None = None,
) -> PaymentMethod:
    """Give the card to the provider and keep its token, brand, last four and expiry. A card
    that needs a second step is kept waiting for it (`payment_method_confirm`)."""
    at = at or timezone.now()
    org = organisation_for_update(organisation.pk)
    card = CardDetails(number=number or "", exp_month=exp_month, exp_year=exp_year, holder=holder)
    try:
        setup = payment_provider().card_add(card, today=organisation_today(org, at=at))
    except MethodRefused as exc:
        raise _refused(exc) from None
    return _add(org, setup, actor=actor, at=at, holder=holder.strip()[:100])


@transaction.atomic
def payment_method_add_sepa(
    *, organisation: Organisation, actor, iban: str, holder: str, at: datetime | None = None
) -> PaymentMethod:
    """A SEPA direct-debit mandate, signed today by the owner: the IBAN is checked (python-stdnum)
    and given to the provider; the product keeps its last four, the mandate reference and the
    signature date."""
    at = at or timezone.now()
    if not (holder or "").strip():
        raise ValidationError(
            {"holder": ValidationError("Give the account holder's name.", code="required")}
        )
    org = organisation_for_update(organisation.pk)
    reference = f"MD-{org.invoice_prefix}-{secrets.token_hex(4).upper()}"
    try:
        setup = payment_provider().sepa_mandate_add(iban=iban, holder=holder, reference=reference)
    except MethodRefused as exc:
        raise _refused(exc) from None
    today = organisation_today(org, at=at)
    return _add(
        org, setup, actor=actor, at=at, holder=holder.strip()[:100], mandate_signed_on=today
    )


def _locked_method(org: Organisation, method_id) -> PaymentMethod:
    return payment_methods_of(org).select_for_update().get(pk=method_id)


@transaction.atomic
def payment_method_confirm(
    *, organisation: Organisation, method_id, actor, at: datetime | None = None
) -> PaymentMethod:
    """The second step (authentication) of a method that needed one, completed."""
    at = at or timezone.now()
    org = organisation_for_update(organisation.pk)
    method = _locked_method(org, method_id)
    if method.status == MethodStatus.REQUIRES_ACTION:
        method.status = payment_provider().method_confirm(method.token)
        method.save(update_fields=["status"])
        _refresh_default(org, today=organisation_today(org, at=at))
        method.refresh_from_db()
        audit_record(
            organisation=org, actor=actor, action="payment_method.confirmed", target=method
        )
    return method


@transaction.atomic
def payment_method_set_default(
    *, organisation: Organisation, method_id, actor, at: datetime | None = None
) -> PaymentMethod:
    at = at or timezone.now()
    org = organisation_for_update(organisation.pk)
    method = _locked_method(org, method_id)
    today = organisation_today(org, at=at)
    if not usable_methods(org, today=today).filter(pk=method.pk).exists():
        raise PaymentMethodNotUsable()
    if not method.is_default:
        payment_methods_of(org).filter(is_default=True).update(is_default=False)
        method.is_default = True
        method.save(update_fields=["is_default"])
        audit_record(
            organisation=org, actor=actor, action="payment_method.made_default", target=method
        )
    _refresh_default(org, today=today)
    return method


def payment_method_removal_restricts(
    organisation: Organisation, method: PaymentMethod, *, at: datetime | None = None
) -> bool:
    """The review of a removal: True when no usable method would be left (rule 18)."""
    today = organisation_today(organisation, at=at)
    return not usable_methods(organisation, today=today).exclude(pk=method.pk).exists()


@transaction.atomic
def payment_method_remove(
    *,
    organisation: Organisation,
    method_id,
    actor,
    restriction_confirmed: bool = False,
    at: datetime | None = None,
) -> PaymentMethod:
    """Remove a method (its row stays for the payments that used it). Removing the last usable
    one restricts the organisation (rule 18), so it needs `restriction_confirmed`."""
    at = at or timezone.now()
    org = organisation_for_update(organisation.pk)
    method = _locked_method(org, method_id)
    if payment_method_removal_restricts(org, method, at=at) and not restriction_confirmed:
        raise RemovalRestricts()
    payment_provider().method_detach(method.token)
    method.removed_at, method.is_default = at, False
    method.save(update_fields=["removed_at", "is_default"])
    _refresh_default(org, today=organisation_today(org, at=at))
    audit_record(
        organisation=org,
        actor=actor,
        action="payment_method.removed",
        target=method,
        changes={"kind": method.kind, "last4": method.last4},
    )
    return method


def payment_methods_expire(*, at: datetime) -> int:
    """Daily: an organisation whose default card expired moves to its next usable method, or
    becomes restricted (rule 18). Returns how many organisations changed."""
    changed = 0
    candidates = (
        PaymentMethod.objects.filter(kind=MethodKind.CARD, is_default=True, removed_at__isnull=True)
        .filter(Q(exp_year__lt=at.year) | Q(exp_year=at.year, exp_month__lt=at.month + 1))
        .values_list("organisation_id", flat=True)
        .distinct()
    )
    for organisation_id in list(candidates):
        with transaction.atomic():
            org = organisation_for_update(organisation_id)
            before = org.payment_method_reference
            _refresh_default(org, today=organisation_today(org, at=at))
            changed += before != org.payment_method_reference
    return changed
