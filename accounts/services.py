"""Organisations and members: sign-up, settings, payment method, invitations, removal, closing."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY, authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.audit import audit_record
from accounts.models import (
    DEFAULT_TAX_RATES,
    MemberStatus,
    Organisation,
    User,
)
from accounts.roles import Role, can_assign_role
from billing.periods import local_date
from billing.renewal import first_renewal_at
from licensing.models import Licence, LicenceStatus, LicenceType
from telecom.errors import DomainError
from telecom.locks import organisation_for_update


@transaction.atomic
def organisation_signup(
    *,
    organisation_name: str,
    country: str,
    currency: str,
    timezone_name: str,
    plan: str,
    billing_frequency: str,
    licence_policy: str,
    owner_email: str,
    owner_password: str,
    owner_name: str,
) -> tuple[Organisation, User, str]:
    """Create an organisation and its owner. The billing period starts today (the anchor day).

    A new organisation has no payment method and is therefore restricted (rule 18) until it
    registers one.
    """
    country = country.upper()
    organisation = Organisation(
        name=organisation_name.strip(),
        country=country,
        currency=currency,
        timezone=timezone_name,
        plan=plan,
        billing_frequency=billing_frequency,
        licence_policy=licence_policy,
        default_licence_type=LicenceType.objects.filter(code="user_standard").first(),
        billing_anchor=local_date(timezone.now(), timezone_name),
        tax_rate=DEFAULT_TAX_RATES.get(country, DEFAULT_TAX_RATES["US"]),
    )
    organisation.full_clean()
    organisation.next_renewal_at = first_renewal_at(organisation)
    organisation.save()
    owner = _member_create(
        organisation=organisation,
        email=owner_email,
        name=owner_name,
        role=Role.OWNER,
        password=owner_password,
    )
    token, _ = Token.objects.get_or_create(user=owner)
    audit_record(
        organisation=organisation, actor=owner, action="organisation.created", target=organisation
    )
    return organisation, owner, token.key


def _member_create(*, organisation, email, name, role, password=None) -> User:
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {
                "email": ValidationError(
                    "A user with this e-mail address already exists.", code="unique"
                )
            }
        )
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email,
                password=password,
                name=name.strip(),
                role=role,
                organisation=organisation,
            )
    except IntegrityError as exc:  # a concurrent sign-up with the same address
        raise ValidationError(
            {
                "email": ValidationError(
                    "A user with this e-mail address already exists.", code="unique"
                )
            }
        ) from exc


ORGANISATION_EDITABLE = ("name", "plan", "licence_policy", "default_licence_type")


@transaction.atomic
def organisation_update(*, organisation: Organisation, actor, **changes) -> Organisation:
    org = organisation_for_update(organisation.pk)
    unknown = set(changes) - set(ORGANISATION_EDITABLE)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    before = {}
    for field, value in changes.items():
        before[field] = str(getattr(org, field))
        setattr(org, field, value)
    org.full_clean()
    org.save(update_fields=list(changes))
    audit_record(
        organisation=org,
        actor=actor,
        action="organisation.updated",
        target=org,
        changes={"before": before, "after": {k: str(v) for k, v in changes.items()}},
    )
    return org


@transaction.atomic
def organisation_set_payment_method(
    *, organisation: Organisation, kind: str, reference: str, actor
) -> Organisation:
    """Record the payment method (a reference at the payment provider, never card data)."""
    org = organisation_for_update(organisation.pk)
    org.payment_method_kind = kind
    org.payment_method_reference = reference.strip()
    org.full_clean()
    org.save(update_fields=["payment_method_kind", "payment_method_reference"])
    audit_record(
        organisation=org,
        actor=actor,
        action="organisation.payment_method_set",
        target=org,
        changes={"kind": kind},
    )
    return org


STAFF_EDITABLE = ("calling_credit_cap", "tax_rate")


@transaction.atomic
def organisation_update_limits(*, organisation: Organisation, actor, **changes) -> Organisation:
    """Platform staff only: the calling-credit cap (rule 21) and the tax rate (section 4)."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only platform staff may change the calling-credit cap or tax rate.")
    unknown = set(changes) - set(STAFF_EDITABLE)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    org = organisation_for_update(organisation.pk)
    if "calling_credit_cap" in changes:
        from billing.services import calling_credit_cap_validate

        calling_credit_cap_validate(org, changes["calling_credit_cap"], lock=True)
    before = {field: str(getattr(org, field)) for field in changes}
    for field, value in changes.items():
        setattr(org, field, value)
    org.full_clean()
    org.save(update_fields=list(changes))
    audit_record(
        organisation=org,
        actor=actor,
        action="organisation.limits_updated",
        target=org,
        changes={"before": before, "after": {k: str(v) for k, v in changes.items()}},
    )
    return org


def _ensure_may_manage(actor, role: str) -> None:
    if not can_assign_role(actor, role):
        raise PermissionDenied(f"Your role may not manage members with the role {role}.")


@transaction.atomic
def member_invite(
    *,
    organisation: Organisation,
    email: str,
    name: str,
    role: str,
    actor,
    notify: bool = True,
    request=None,
) -> User:
    """Create an invited member (rule 17: users are unlimited; they can hold licences at once).

    With `notify`, the member is e-mailed their invitation link once the transaction commits.
    """
    _ensure_may_manage(actor, role)
    org = organisation_for_update(organisation.pk)
    member = _member_create(organisation=org, email=email, name=name, role=role)
    audit_record(
        organisation=org,
        actor=actor,
        action="member.invited",
        target=member,
        changes={"role": role},
    )
    if notify:
        from webapp.services import invitation_send

        invitation_send(member=member, request=request)
    return member


def _ensure_other_owner(member: User) -> None:
    others = User.objects.filter(
        organisation_id=member.organisation_id, role=Role.OWNER, status=MemberStatus.ACTIVE
    ).exclude(pk=member.pk)
    if not others.exists():
        raise ValidationError(
            {
                "role": ValidationError(
                    "An organisation keeps at least one active owner.", code="last_owner"
                )
            }
        )


@transaction.atomic
def member_update(*, member: User, actor, name: str | None = None, role: str | None = None) -> User:
    org = organisation_for_update(member.organisation_id)
    member = User.objects.select_for_update().get(pk=member.pk, organisation=org)
    _ensure_may_manage(actor, member.role)
    before = {"name": member.name, "role": member.role}
    if role is not None and role != member.role:
        _ensure_may_manage(actor, role)
        if member.role == Role.OWNER:
            _ensure_other_owner(member)
        member.role = role
    if name is not None:
        member.name = name.strip()
    member.save(update_fields=["name", "role"])
    audit_record(
        organisation=org,
        actor=actor,
        action="member.updated",
        target=member,
        changes={"before": before, "after": {"name": member.name, "role": member.role}},
    )
    return member


@transaction.atomic
def member_remove(*, member: User, actor) -> User:
    """Rule 9: deactivate the member; their licences become unassigned, keeping their numbers."""
    org = organisation_for_update(member.organisation_id)
    member = User.objects.select_for_update().get(pk=member.pk, organisation=org)
    _ensure_may_manage(actor, member.role)
    if member.role == Role.OWNER:
        _ensure_other_owner(member)
    licences = list(Licence.objects.select_for_update().filter(member=member).order_by("pk"))
    for licence in licences:
        licence.member = None
    Licence.objects.bulk_update(licences, ["member"])
    from numbering.services import history_follow_licence

    for licence in licences:
        history_follow_licence(licence=licence)
    member.status = MemberStatus.DEACTIVATED
    member.save(update_fields=["status"])
    Token.objects.filter(user=member).delete()
    audit_record(
        organisation=org,
        actor=actor,
        action="member.removed",
        target=member,
        changes={"licences_unassigned": [str(licence.pk) for licence in licences]},
    )
    return member


def auth_token_obtain(*, email: str, password: str, request=None) -> str:
    """Exchange an active member's e-mail and password for their API token (API.md).

    Invited and deactivated members cannot sign in; the message never says which part was wrong.
    """
    user = authenticate(request, email=(email or "").strip().lower(), password=password)
    if user is None:
        raise ValidationError(
            "Unable to sign in with these credentials.", code="invalid_credentials"
        )
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


# --- closing an organisation (rule 19) ----------------------------------------------------------


class OrganisationClosed(DomainError):
    code = "organisation_closed"
    default_detail = "This organisation is closed."


class CloseNotRequested(DomainError):
    code = "close_not_requested"
    default_detail = "The organisation's owner has not asked for it to be closed."


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
    from django.contrib.sessions.models import Session

    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) in user_ids
    ]
    for key in keys:
        store(session_key=key).delete()
    return len(keys)


_closing_steps: dict[str, Callable] = {}


def register_closing_step(name: str, step: Callable) -> None:
    """What closing an organisation (rule 19) asks of the apps above accounts, registered when
    they are ready (accounts does not import them): "porting" (numbering: cancel the open
    requests, returns how many), "numbers" (numbering, rule 6: quarantine every number, returns
    how many) and "licences" (licensing, rule 14: schedule every licence for removal at the
    period's end, returns how many and from when)."""
    _closing_steps[name] = step


def _closing_step(name: str) -> Callable:
    try:
        return _closing_steps[name]
    except KeyError:
        raise RuntimeError(f"No app has registered the closing step {name!r}.") from None


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

    cancelled = _closing_step("porting")(
        org, actor=actor, at=at, note="The organisation is being closed."
    )
    quarantined = _closing_step("numbers")(org, actor=actor, at=at, reason="organisation closed")
    scheduled, effective_on = _closing_step("licences")(
        org, actor=actor, at=at, reason="organisation closed"
    )

    members = list(
        User.objects.select_for_update()
        .filter(organisation=org)
        .exclude(status=MemberStatus.DEACTIVATED)
        .order_by("pk")
    )
    User.objects.filter(pk__in=[m.pk for m in members]).update(status=MemberStatus.DEACTIVATED)
    Token.objects.filter(user__organisation=org).delete()
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
    from django.db.models import Exists, OuterRef

    from billing.renewal import renewals_apply_locked

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
