"""Organisations and members: settings, payment method, invitations, roles, reactivation.

What reaches licences, numbers or the renewal sits a layer above, in accounts/lifecycle.py
(sign-up, member removal) and accounts/closing.py (closing an organisation, rule 19); the
calling-credit cap and tax rate are billing's (billing/usage.py)."""

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.api_tokens import api_token_create
from accounts.audit import audit_record
from accounts.invitations import invitation_send
from accounts.models import (
    ApiToken,
    MemberStatus,
    Organisation,
    User,
)
from accounts.roles import Cap, Role, can_assign_role
from telecom.locks import organisation_for_update


def member_create(*, organisation, email, name, role, password=None) -> User:
    """A new member with a unique e-mail address. No permission check: the caller has made it
    (sign-up creates the owner; `member_invite` checks the inviter's role)."""
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


ORGANISATION_EDITABLE = ("name", "plan", "licence_policy", "default_licence_type", "language")
# The invoice language is a billing setting: whoever may change the billing details (owners and
# finance) may change it; the other fields need the organisation's own capability (docs/rules.md).
BILLING_EDITABLE = frozenset({"language"})


def organisation_change_capability(fields) -> Cap:
    """The capability a change of these organisation fields needs."""
    if fields and set(fields) <= BILLING_EDITABLE:
        return Cap.BILLING_DETAILS_CHANGE
    return Cap.ORGANISATION_CHANGE


@transaction.atomic
def organisation_update(*, organisation: Organisation, actor, **changes) -> Organisation:
    org = organisation_for_update(organisation.pk)
    return organisation_fields_set(
        org, changes, editable=ORGANISATION_EDITABLE, actor=actor, action="organisation.updated"
    )


def organisation_fields_set(
    org: Organisation, changes: dict, *, editable, actor, action: str
) -> Organisation:
    """Set some of the organisation's `editable` fields on its locked row, validate, save and
    audit them (before and after); any other field is refused by name. For the services that
    change an organisation's settings (here, and billing's limits in billing/usage.py)."""
    unknown = set(changes) - set(editable)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    before = {field: str(getattr(org, field)) for field in changes}
    for field, value in changes.items():
        setattr(org, field, value)
    org.full_clean()
    org.save(update_fields=list(changes))
    audit_record(
        organisation=org,
        actor=actor,
        action=action,
        target=org,
        changes={"before": before, "after": {k: str(v) for k, v in changes.items()}},
    )
    return org


def ensure_may_manage(actor, role: str) -> None:
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
    ensure_may_manage(actor, role)
    org = organisation_for_update(organisation.pk)
    member = member_create(organisation=org, email=email, name=name, role=role)
    audit_record(
        organisation=org,
        actor=actor,
        action="member.invited",
        target=member,
        changes={"role": role},
    )
    if notify:
        invitation_send(member=member, request=request)
    return member


def ensure_other_owner(member: User) -> None:
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
    ensure_may_manage(actor, member.role)
    before = {"name": member.name, "role": member.role}
    if role is not None and role != member.role:
        ensure_may_manage(actor, role)
        if member.role == Role.OWNER:
            ensure_other_owner(member)
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
def member_invitation_resend(*, member: User, actor, request=None) -> User:
    """E-mail an invited member a new invitation link; the links sent before stop working.

    The link's fingerprint includes the member's (unusable) password, so drawing a new one
    withdraws every earlier link. Only an invited member has an invitation to resend.
    """
    org = organisation_for_update(member.organisation_id)
    member = User.objects.select_for_update().get(pk=member.pk, organisation=org)
    if actor is not None:
        ensure_may_manage(actor, member.role)
    if member.status != MemberStatus.INVITED:
        raise ValidationError(
            f"{member.get_full_name()} is not waiting for an invitation: only invited members "
            "are sent one.",
            code="not_invited",
        )
    member.set_unusable_password()  # a new random value: earlier links no longer match
    member.save(update_fields=["password"])
    audit_record(
        organisation=org,
        actor=actor,
        action="member.invitation_resent",
        target=member,
    )
    invitation_send(member=member, request=request)
    return member


@transaction.atomic
def member_reactivate(*, member: User, actor) -> User:
    """Bring back a removed (deactivated) member. One who had signed in becomes active again
    with their password; one who never accepted their invitation is invited again (a new link
    is e-mailed). Their licences were unassigned at removal and stay so."""
    org = organisation_for_update(member.organisation_id)
    member = User.objects.select_for_update().get(pk=member.pk, organisation=org)
    ensure_may_manage(actor, member.role)
    if member.status != MemberStatus.DEACTIVATED:
        raise ValidationError(
            f"{member.get_full_name()} is not removed: only removed members can be reactivated.",
            code="not_deactivated",
        )
    invited = not member.has_usable_password()
    member.status = MemberStatus.INVITED if invited else MemberStatus.ACTIVE
    if invited:
        member.set_unusable_password()
    member.save(update_fields=["status", "password"])
    audit_record(
        organisation=org,
        actor=actor,
        action="member.reactivated",
        target=member,
        changes={"status": member.status},
    )
    if invited:
        invitation_send(member=member)
    return member


def invited_member_for_email(email: str) -> User | None:
    """The invited member with this e-mail address, if any (a password-reset request from an
    invited member sends the invitation again)."""
    return (
        User.objects.select_related("organisation")
        .filter(email__iexact=(email or "").strip(), status=MemberStatus.INVITED)
        .first()
    )


def auth_token_obtain(*, email: str, password: str, request=None) -> ApiToken:
    """Exchange an active member's e-mail and password for a new API token (docs/api.md
    "Tokens"); its key is on `token.key`, shown this once.

    Invited and deactivated members cannot sign in; the message never says which part was wrong.
    """
    user = authenticate(request, email=(email or "").strip().lower(), password=password)
    if user is None:
        raise ValidationError(
            "Unable to sign in with these credentials.", code="invalid_credentials"
        )
    token, key = api_token_create(user=user)
    token.key = key
    return token
