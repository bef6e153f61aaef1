"""Checks every licence service makes first: the organisation is open and not restricted (rules 18
and 19), the assignee is one member or one line of the organisation; and how a count of licences
reads."""

from datetime import datetime

from django.core.exceptions import ValidationError

from accounts.models import MemberStatus, Organisation
from billing.restriction import organisation_is_restricted
from licensing.models import (
    Licence,
    LicenceType,
)
from telecom import errors

# --- checks ---------------------------------------------------------------------------------


def ensure_not_restricted(organisation: Organisation, *, at: datetime | None = None) -> None:
    """Rule 18: a restricted (or closed) organisation cannot buy, assign new numbers or port."""
    _ensure_open(organisation)
    if organisation_is_restricted(organisation, at=at):
        raise errors.AccountRestricted()


def _ensure_open(organisation: Organisation) -> None:
    """Rule 19: a closed organisation's licences end at period end; nothing brings them back."""
    if organisation.closed_at:
        raise errors.AccountRestricted("This organisation is closed.")


def _ensure_same_organisation(organisation: Organisation, *objects) -> None:
    # Callers resolve ids within the organisation already; this guards every other path.
    for obj in objects:
        if obj is not None and obj.organisation_id != organisation.pk:
            raise Licence.DoesNotExist()


def _lock_licence(licence: Licence) -> Licence:
    return (
        Licence.objects.select_for_update(of=("self",))
        .select_related("licence_type")
        .get(pk=licence.pk, organisation_id=licence.organisation_id)
    )


def check_assignee(organisation, member, line) -> None:
    if (member is None) == (line is None):
        raise ValidationError("Give exactly one of a member or a line.", code="invalid")
    _ensure_same_organisation(organisation, member, line)
    if member is not None and member.status == MemberStatus.DEACTIVATED:
        raise ValidationError(
            {"member": ValidationError("This member is deactivated.", code="deactivated")}
        )


def licences_of(licence_type: LicenceType, count: int) -> str:
    """ "1 User licence", "3 Phone system licences": a type's name as a count of licences."""
    name = licence_type.name
    noun = name if name.lower().endswith("licence") else f"{name} licence"
    return noun if count == 1 else f"{noun}s"
