"""Closing an organisation (rule 19): the owner asks, platform staff close it, and at the end of
the billing period the closing finishes."""

from dataclasses import dataclass
from datetime import date, datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import (
    ApiToken,
    MemberStatus,
    Organisation,
    User,
)
from accounts.roles import Role
from billing.renewal import renewals_apply_locked
from licensing.models import Licence, LicenceStatus
from licensing.services import licences_end_all_locked
from numbering.porting import porting_requests_cancel_open_locked
from numbering.services import numbers_quarantine_all_locked
from telecom.errors import CloseNotRequested, OrganisationClosed
from telecom.locks import organisation_for_update


@dataclass(frozen=True)
class ClosingResult:
    organisation: Organisation
    porting_cancelled: int
    numbers_quarantined: int
    licences_scheduled: int
    removal_effective_on: date
    members_deactivated: int
    sessions_revoked: int


@transaction.atomic
def organisation_close_request(
    *, organisation: Organisation, actor, at: datetime | None = None
) -> Organisation:
    """Rule 19: the owner asks platform staff to close the organisation. Asking twice keeps the
    first request's time."""
    if not (
        getattr(actor, "is_active", False)
        and not actor.is_superuser
        and actor.organisation_id == organisation.pk
        and actor.role == Role.OWNER
    ):
        raise PermissionDenied("Only the organisation's owner can ask for it to be closed.")
    org = organisation_for_update(organisation.pk)
    if org.closed_at:
        raise OrganisationClosed()
    if org.close_requested_at is None:
        org.close_requested_at = at or timezone.now()
        org.save(update_fields=["close_requested_at"])
        audit_record(
            organisation=org, actor=actor, action="organisation.close_requested", target=org
        )
    return org


def _revoke_sessions(user_ids: set[str]) -> int:
    """Delete the stored sessions signed in as these users (database-backed session engines)."""

    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) in user_ids
    ]
    for key in keys:
        store(session_key=key).delete()
    return len(keys)


@transaction.atomic
def organisation_close(
    *, organisation: Organisation, actor, at: datetime | None = None
) -> ClosingResult:
    """Rule 19: platform staff close an organisation on its owner's request.

    In one transaction under the organisation's lock: open porting requests are cancelled (their
    reservations released); every held number goes into quarantine (rule 6, recoverable by staff
    until it ends, then back to the inventory); every active licence is unassigned, detached and
    scheduled for termination at the end of the current period (it was paid for in advance);
    members are deactivated, their API tokens deleted and their sessions revoked; invoices are
    kept. The renewal job skips closed organisations, so `organisations_finish_closing` ends
    the licences at the period end and issues the final invoice (termination fees, unbilled
    charges and usage).
    """

    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only platform staff can close an organisation.")
    at = at or timezone.now()
    org = organisation_for_update(organisation.pk)
    if org.closed_at:
        raise OrganisationClosed()
    if org.close_requested_at is None:
        raise CloseNotRequested()

    cancelled = porting_requests_cancel_open_locked(
        organisation=org, actor=actor, at=at, note="The organisation is being closed."
    )

    # Rule 6 and rule 14, from their homes.
    quarantined = numbers_quarantine_all_locked(
        org, actor=actor, at=at, reason="organisation closed"
    )
    scheduled, effective_on = licences_end_all_locked(
        org, actor=actor, at=at, reason="organisation closed"
    )

    members = list(
        User.objects.select_for_update()
        .filter(organisation=org)
        .exclude(status=MemberStatus.DEACTIVATED)
        .order_by("pk")
    )
    User.objects.filter(pk__in=[m.pk for m in members]).update(status=MemberStatus.DEACTIVATED)
    ApiToken.objects.filter(user__organisation=org).delete()
    revoked = _revoke_sessions({str(m.pk) for m in members})

    org.closed_at = at
    org.save(update_fields=["closed_at"])
    audit_record(
        organisation=org,
        actor=actor,
        action="organisation.closed",
        target=org,
        changes={
            "porting_cancelled": cancelled,
            "numbers_quarantined": quarantined,
            "licences_scheduled": scheduled,
            "removal_effective_on": effective_on.isoformat(),
            "members_deactivated": len(members),
            "sessions_revoked": revoked,
        },
    )
    return ClosingResult(
        organisation=org,
        porting_cancelled=cancelled,
        numbers_quarantined=quarantined,
        licences_scheduled=scheduled,
        removal_effective_on=effective_on,
        members_deactivated=len(members),
        sessions_revoked=revoked,
    )


def organisations_finish_closing(*, at: datetime, limit: int | None = None) -> int:
    """The period end of closed organisations: terminate their scheduled licences and issue the
    final invoice. Idempotent; for the hourly renewal job and `run_billing`, next to
    `billing.renewal.renewals_run` (which skips closed organisations).

    A closed organisation whose next period has started and that still has licences scheduled
    for removal is renewed once more by the renewal's own step: its licences are terminated
    first (none is renewed, every one being scheduled) and the invoice carries only what is
    still owed: termination fees under a commitment (rule 16), unbilled device charges and the
    last periods' usage; no invoice when nothing is owed. Each organisation is one transaction
    under SKIP LOCKED, advanced in it, so it is done once.
    """

    pending = Licence.objects.filter(
        organisation=OuterRef("pk"), status=LicenceStatus.REMOVAL_SCHEDULED
    )
    done = 0
    while limit is None or done < limit:
        with transaction.atomic():
            org = (
                Organisation.objects.select_for_update(skip_locked=True)
                .filter(closed_at__isnull=False, next_renewal_at__lte=at)
                .filter(Exists(pending))
                .order_by("next_renewal_at", "pk")
                .first()
            )
            if org is None:
                return done
            renewals_apply_locked([org], at=at)
        done += 1
    return done
