"""Removing, terminating and restoring licences (rules 14-16): effective at the period's end, with
the termination fee a commitment causes; and closing an organisation's licences (rule 19)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from accounts.audit import audit_record, audit_record_many
from accounts.models import Organisation
from billing.commitments import termination_fee
from billing.models import Commitment
from billing.profile import vat_preview
from billing.selectors import organisation_period, organisation_today
from licensing.models import (
    Licence,
    LicencePrice,
    LicenceStatus,
    LicenceType,
)
from licensing.selectors import (
    removal_has_taken_effect,
)
from licensing.services.checks import _ensure_open, _lock_licence, licences_of
from licensing.services.purchase import licences_restore_locked
from telecom import errors
from telecom.locks import organisation_for_update
from telecom.quantities import validate_quantity


@dataclass(frozen=True)
class RemovalResult:
    licences: list[Licence]
    effective_on: object  # date: the first day without the licences
    termination_fee: Decimal
    # The VAT the invoice carrying the fee will have (billing.profile.vat_preview).
    vat_treatment: str = ""
    vat_note: str = ""


# --- removal, termination, restore (rules 14-16) ---------------------------------------------


def _termination_fee(organisation, licence_type, quantity, effective_on) -> Decimal:
    """Rule 16: what removing `quantity` more licences costs under a commitment, if any."""
    commitment = Commitment.objects.filter(
        organisation=organisation, licence_type=licence_type, ends_on__gt=effective_on
    ).first()
    if commitment is None:
        return Decimal("0.00")
    remaining = (
        Licence.objects.filter(
            organisation=organisation, licence_type=licence_type, status=LicenceStatus.ACTIVE
        ).count()
        - quantity
    )
    monthly = LicencePrice.objects.get(
        licence_type=licence_type, currency=organisation.currency
    ).monthly
    return termination_fee(
        monthly_price=monthly,
        committed=commitment.quantity,
        remaining=remaining,
        removed=quantity,
        effective_on=effective_on,
        ends_on=commitment.ends_on,
    )


def _removal_effective_on(organisation, *, at) -> date:
    """Rule 14: a removal asked now takes effect at the current period's end."""
    return organisation_period(organisation, at=at).end


def _removal_terms(organisation, licence_type, quantity, *, at) -> tuple:
    """When a removal asked now takes effect and the rule 16 fee it causes: what every removal
    review shows and every removal records."""
    effective_on = _removal_effective_on(organisation, at=at)
    return effective_on, _termination_fee(organisation, licence_type, quantity, effective_on)


def _schedule_removal(licences: list[Licence], effective_on, *, also: tuple = ()) -> None:
    """Rule 14's write: these licences are scheduled for removal on `effective_on` (billed until
    then, assignable no more) and lose their extension; `also` are fields the caller cleared."""
    for licence in licences:
        licence.status = LicenceStatus.REMOVAL_SCHEDULED
        licence.removal_effective_on = effective_on
        licence.extension = None
    Licence.objects.bulk_update(licences, ["status", "removal_effective_on", *also, "extension"])


def licences_end_all_locked(organisation: Organisation, *, actor, at, reason: str) -> tuple:
    """Rule 14 for every active licence of an organisation being closed (rule 19): unassigned,
    detached and scheduled for removal at the period's end. The caller holds the organisation's
    lock. Returns how many, and from when."""
    effective_on = _removal_effective_on(organisation, at=at)
    licences = list(
        Licence.objects.select_for_update()
        .filter(organisation=organisation, status=LicenceStatus.ACTIVE)
        .order_by("pk")
    )
    for licence in licences:
        licence.member = licence.line = licence.base_licence = None
    _schedule_removal(licences, effective_on, also=("member", "line", "base_licence"))
    audit_record_many(
        organisation=organisation,
        actor=actor,
        action="licence.terminated",
        targets=licences,
        changes={"effective_on": effective_on.isoformat(), "reason": reason},
    )
    return len(licences), effective_on


def _not_enough_unassigned(licence_type: LicenceType, *, have: int, asked: int):
    verb = "is" if have == 1 else "are"
    return errors.NotEnoughUnassignedLicences(
        f"Only {have} {licences_of(licence_type, have)} {verb} unassigned; you asked to remove "
        f"{asked}. Nothing was scheduled."
    )


def _removal_candidates(organisation, licence_type):
    """Rule 14: active licences of the type held by nobody, newest first."""
    return (
        Licence.objects.filter(organisation=organisation, licence_type=licence_type)
        .free()
        .filter(addons__isnull=True)
        .order_by("-purchased_at", "-pk")
    )


def licences_removal_quote(
    *,
    organisation: Organisation,
    licence_type: LicenceType,
    quantity: int,
    at: datetime | None = None,
) -> RemovalResult:
    """The removal review: which licences, from when, and any termination fee. Writes nothing."""
    validate_quantity(quantity)
    candidates = list(_removal_candidates(organisation, licence_type)[:quantity])
    if len(candidates) < quantity:
        raise _not_enough_unassigned(licence_type, have=len(candidates), asked=quantity)
    effective_on, fee = _removal_terms(organisation, licence_type, quantity, at=at)
    return RemovalResult(
        licences=candidates,
        effective_on=effective_on,
        termination_fee=fee,
        **vat_preview(organisation),
    )


@transaction.atomic
def licences_schedule_removal(
    *,
    organisation: Organisation,
    licence_type: LicenceType,
    quantity: int,
    actor,
    at: datetime | None = None,
) -> RemovalResult:
    """Rule 14: schedule N unassigned licences for removal at the end of the current period."""
    validate_quantity(quantity)
    org = organisation_for_update(organisation.pk)
    candidates = list(
        _removal_candidates(org, licence_type).select_for_update(of=("self",))[:quantity]
    )
    if len(candidates) < quantity:
        raise _not_enough_unassigned(licence_type, have=len(candidates), asked=quantity)
    effective_on, fee = _removal_terms(org, licence_type, quantity, at=at)
    _schedule_removal(candidates, effective_on)
    audit_record_many(
        organisation=org,
        actor=actor,
        action="licence.removal_scheduled",
        targets=candidates,
        changes={"effective_on": effective_on.isoformat()},
    )
    return RemovalResult(licences=candidates, effective_on=effective_on, termination_fee=fee)


def _ensure_terminable(licence: Licence) -> None:
    """Rule 14 for one licence: active, assigned to nobody and holding nothing."""
    if licence.status != LicenceStatus.ACTIVE:
        raise errors.LicenceNotRemovable("This licence is already scheduled for removal or ended.")
    if licence.is_assigned or licence.addons.exists() or licence.numbers.held().exists():
        raise errors.LicenceInUse()


def licence_termination_quote(*, licence: Licence, at: datetime | None = None) -> RemovalResult:
    """The review before terminating one licence by UUID (rules 14 and 16): from when it is
    removed and the termination fee it causes, as `licence_terminate` computes them. Writes
    nothing; refuses as `licence_terminate` would."""
    organisation = licence.organisation
    _ensure_terminable(licence)
    effective_on, fee = _removal_terms(organisation, licence.licence_type, 1, at=at)
    return RemovalResult(licences=[licence], effective_on=effective_on, termination_fee=fee)


@transaction.atomic
def licence_terminate(*, licence: Licence, actor, at: datetime | None = None) -> Licence:
    """Rule 14 for one licence by UUID: refused while it is assigned or holds anything.

    The returned licence carries `termination_fee` (not stored): the rule 16 fee the removal
    causes, as `licence_termination_quote` showed it."""
    org = organisation_for_update(licence.organisation_id)
    licence = _lock_licence(licence)
    _ensure_terminable(licence)
    effective_on, fee = _removal_terms(org, licence.licence_type, 1, at=at)
    _schedule_removal([licence], effective_on)
    audit_record(
        organisation=org,
        actor=actor,
        action="licence.terminated",
        target=licence,
        changes={"effective_on": effective_on.isoformat(), "termination_fee": f"{fee:.2f}"},
    )
    licence.termination_fee = fee
    return licence


@transaction.atomic
def licence_restore(*, licence: Licence, actor, at: datetime | None = None) -> Licence:
    """Rule 15: undo a scheduled removal before it takes effect, at no charge.

    From the removal's effective date (local midnight in the organisation's time zone) the
    removal is done, even before the renewal job has marked the licence terminated: the restore
    is refused (`removal_already_effective`) and the termination fee it caused stays owed."""
    org = organisation_for_update(licence.organisation_id)
    _ensure_open(org)
    licence = _lock_licence(licence)
    if removal_has_taken_effect(licence, today=organisation_today(org, at=at)):
        effective_on = licence.removal_effective_on or licence.terminated_on
        when = f" on {effective_on.day} {effective_on:%b %Y}" if effective_on else ""
        raise errors.RemovalAlreadyEffective(
            f"This licence was removed{when}: it can no longer be restored. "
            "Buy a new licence instead."
        )
    if licence.status != LicenceStatus.REMOVAL_SCHEDULED:
        raise errors.LicenceNotRemovable("Only a licence scheduled for removal can be restored.")
    licences_restore_locked(org, [licence], actor=actor)
    return licence
