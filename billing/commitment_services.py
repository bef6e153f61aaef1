"""Commitments (rule 16), set by platform staff: create, change, delete. What ending one early
costs is billing/commitments.py; `billing.services` re-exports these functions."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.audit import audit_record
from accounts.models import Organisation
from accounts.roles import ensure_platform_staff as _ensure_platform_staff
from billing.models import (
    Commitment,
)
from billing.selectors import organisation_today
from telecom.locks import organisation_for_update


def _validate_commitment(org: Organisation, *, quantity: int, ends_on) -> None:
    errors = {}
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        errors["quantity"] = ValidationError(
            "The committed quantity is a whole number of at least 1.", code="min_value"
        )
    if ends_on <= organisation_today(org):
        errors["ends_on"] = ValidationError(
            "The commitment must end after today (the organisation's local date).",
            code="commitment_ended",
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def commitment_create(
    *, organisation: Organisation, licence_type, quantity: int, ends_on, actor
) -> Commitment:
    """Commit the organisation to `quantity` licences of a type until `ends_on` (rule 16)."""
    _ensure_platform_staff(actor, "set a commitment")
    org = organisation_for_update(organisation.pk)
    _validate_commitment(org, quantity=quantity, ends_on=ends_on)
    if Commitment.objects.filter(organisation=org, licence_type=licence_type).exists():
        raise ValidationError(
            {
                "licence_type": ValidationError(
                    "The organisation already has a commitment for this licence type; change it.",
                    code="commitment_exists",
                )
            }
        )
    try:
        with transaction.atomic():
            commitment = Commitment.objects.create(
                organisation=org, licence_type=licence_type, quantity=quantity, ends_on=ends_on
            )
    except IntegrityError as exc:  # the unique constraint, should the check above be raced
        raise ValidationError(
            {
                "licence_type": ValidationError(
                    "The organisation already has a commitment for this licence type.",
                    code="commitment_exists",
                )
            }
        ) from exc
    audit_record(
        organisation=org,
        actor=actor,
        action="commitment.created",
        target=commitment,
        changes={
            "licence_type": licence_type.code,
            "quantity": quantity,
            "ends_on": ends_on.isoformat(),
        },
    )
    return commitment


@transaction.atomic
def commitment_update(*, commitment: Commitment, quantity: int, ends_on, actor) -> Commitment:
    """Change a commitment's quantity or end date (rule 16); its organisation and type stay."""
    _ensure_platform_staff(actor, "change a commitment")
    org = organisation_for_update(commitment.organisation_id)
    commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
    _validate_commitment(org, quantity=quantity, ends_on=ends_on)
    before = {"quantity": commitment.quantity, "ends_on": commitment.ends_on.isoformat()}
    commitment.quantity, commitment.ends_on = quantity, ends_on
    commitment.save(update_fields=["quantity", "ends_on"])
    audit_record(
        organisation=org,
        actor=actor,
        action="commitment.updated",
        target=commitment,
        changes={"before": before, "after": {"quantity": quantity, "ends_on": ends_on.isoformat()}},
    )
    return commitment


@transaction.atomic
def commitment_delete(*, commitment: Commitment, actor) -> None:
    """End a commitment now: later removals owe no termination fee for it (rule 16)."""
    _ensure_platform_staff(actor, "delete a commitment")
    org = organisation_for_update(commitment.organisation_id)
    commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
    audit_record(
        organisation=org,
        actor=actor,
        action="commitment.deleted",
        target=commitment,
        changes={
            "licence_type_id": commitment.licence_type_id,
            "quantity": commitment.quantity,
            "ends_on": commitment.ends_on.isoformat(),
        },
    )
    commitment.delete()
