"""Usage and the calling-credit cap (rule 21): recording a call or message against the number's
holder, what the period has used, and the cap and tax rate platform staff set.

Recording reads who holds the number, so this module sits above numbering (docs/architecture.md);
the ledger below it (invoices, periods) knows organisations only.
"""

import re
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Organisation
from accounts.services import organisation_fields_set
from billing.models import UsageCounter, UsageDirection, UsageRecord
from billing.periods import local_midnight
from billing.restriction import organisation_is_suspended
from billing.selectors import organisation_period
from numbering.selectors import number_holder
from telecom.errors import AccountSuspended, CallingCreditCapReached
from telecom.locks import organisation_for_update


@transaction.atomic
def usage_record(
    *,
    number,
    kind: str,
    direction: str,
    started_at: datetime,
    cost: Decimal,
    duration_seconds: int = 0,
    destination: str = "",
) -> UsageRecord:
    """Store one usage record, refusing it (and storing nothing) if it would cross the cap.

    The cap check is one conditional UPDATE of the period's counter row: PostgreSQL re-checks
    the condition on the latest row version, so concurrent usages cannot both slip under it.
    """
    if cost < 0:
        raise ValidationError(
            {"cost": ValidationError("Cost cannot be negative.", code="min_value")}
        )
    if destination and not _DESTINATION.fullmatch(destination):
        raise ValidationError(
            {
                "destination": ValidationError(
                    "The destination is a phone number: digits, with + in front if "
                    "international (* and # for service codes).",
                    code="invalid_destination",
                )
            }
        )
    organisation = number.organisation
    _validate_usage_start(organisation, started_at)
    if direction == UsageDirection.OUTBOUND and organisation_is_suspended(
        organisation, at=started_at
    ):
        raise AccountSuspended()
    # The record belongs to the period of its start, by the organisation's local date.
    period = organisation_period(organisation, at=started_at)
    counter, _ = UsageCounter.objects.get_or_create(
        organisation=organisation, period_start=period.start
    )
    updated = UsageCounter.objects.filter(
        pk=counter.pk, used__lte=organisation.calling_credit_cap - cost
    ).update(used=F("used") + cost)
    if not updated:
        raise CallingCreditCapReached(
            f"This usage ({cost} {organisation.currency}) would exceed the calling-credit cap "
            f"of {organisation.calling_credit_cap} {organisation.currency} for the period."
        )
    member, _line = number_holder(number)
    return UsageRecord.objects.create(
        organisation=organisation,
        number=number,
        member=member,
        kind=kind,
        direction=direction,
        started_at=started_at,
        duration_seconds=duration_seconds,
        destination=destination,
        cost=cost,
        period_start=period.start,
    )


# A dialled number: E.164, a national number or a service code; never free text.
_DESTINATION = re.compile(r"\+?[0-9*#]{1,20}")
# How far ahead of our clock the telephony platform's may run; a later start is a mistake.
USAGE_CLOCK_SKEW = timedelta(minutes=5)


def _validate_usage_start(organisation: Organisation, started_at: datetime) -> None:
    """A usage starts within the organisation's life: not before its first billing period began
    (local midnight of its anchor day, the day it signed up), nor more than a few minutes
    ahead of now. Either would be counted in a period that does not hold it."""
    began = local_midnight(organisation.billing_anchor, organisation.timezone)
    if started_at < began:
        raise ValidationError(
            {
                "started_at": ValidationError(
                    f"This usage starts before the organisation's account began "
                    f"({began.isoformat()}).",
                    code="before_organisation",
                )
            }
        )
    latest = timezone.now() + USAGE_CLOCK_SKEW
    if started_at > latest:
        raise ValidationError(
            {
                "started_at": ValidationError(
                    f"This usage starts in the future (after {latest.isoformat()}); "
                    "send it once it has started.",
                    code="in_the_future",
                )
            }
        )


def usage_used(
    organisation: Organisation, *, at: datetime | None = None, lock: bool = False
) -> Decimal:
    """What the period has used of its calling credit; with `lock`, the period's counter row is
    locked (inside the caller's transaction) so that no usage is recorded meanwhile."""
    period = organisation_period(organisation, at=at)
    rows = UsageCounter.objects.filter(organisation=organisation, period_start=period.start)
    row = (rows.select_for_update() if lock else rows).first()
    return row.used if row else Decimal("0.00")


def calling_credit_cap_validate(
    organisation: Organisation, cap: Decimal, *, lock: bool = False
) -> None:
    """Rule 21: a cap is a non-negative amount, and not below what the current period has
    already used (that usage happened; a lower cap would be crossed before it was set).

    With `lock` (inside the service's transaction) the period's counter row is locked, so a
    usage being recorded now is counted before the comparison or waits until the cap is set.
    """
    if cap is None or cap < 0:
        raise ValidationError(
            {
                "calling_credit_cap": ValidationError(
                    "The calling-credit cap cannot be negative.", code="min_value"
                )
            }
        )
    used = usage_used(organisation, lock=lock)
    if cap < used:
        raise ValidationError(
            {
                "calling_credit_cap": ValidationError(
                    f"This period has already used {used} {organisation.currency} of calling "
                    f"credit; the cap cannot be set below that ({cap} {organisation.currency}).",
                    code="below_used",
                )
            }
        )


STAFF_EDITABLE = ("calling_credit_cap", "tax_rate")


@transaction.atomic
def organisation_update_limits(*, organisation: Organisation, actor, **changes) -> Organisation:
    """Platform staff only: the calling-credit cap (rule 21) and the tax rate (section 4)."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only platform staff may change the calling-credit cap or tax rate.")
    org = organisation_for_update(organisation.pk)
    if "calling_credit_cap" in changes:
        calling_credit_cap_validate(org, changes.get("calling_credit_cap"), lock=True)
    return organisation_fields_set(
        org, changes, editable=STAFF_EDITABLE, actor=actor, action="organisation.limits_updated"
    )
