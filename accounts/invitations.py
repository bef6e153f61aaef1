"""Invitations: the signed, expiring link an invited member follows to set a password, the
e-mail that carries it, and accepting it (rule 17: members are unlimited).

The link works once: its fingerprint covers the member's status and (unusable) password, so
accepting it, drawing a new one or removing the member withdraws it.
"""

import datetime as dt
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.audit import audit_record
from accounts.models import MemberStatus, User

INVITATION_SALT = "webapp.invitation"
INVITATION_MAX_AGE = dt.timedelta(days=7)


class InvitationInvalid(Exception):
    """The invitation link is malformed, expired, already used or revoked."""


def _invitation_fingerprint(member: User) -> str:
    # Changes when the invitation is accepted (password, status) or the member is changed, so a
    # link works once and stops working when the member is removed.
    state = f"{member.pk}|{member.email}|{member.status}|{member.password}"
    return salted_hmac(INVITATION_SALT, state).hexdigest()[:32]


def invitation_token_for(member: User) -> str:
    return signing.dumps(
        {"m": str(member.pk), "f": _invitation_fingerprint(member)}, salt=INVITATION_SALT
    )


def invitation_link_for(member: User, request=None) -> str:
    """The absolute link an invited member follows to set a password (signed, expiring)."""
    path = reverse("webapp:invitation_accept", kwargs={"token": invitation_token_for(member)})
    if request is not None:
        return request.build_absolute_uri(path)
    base = getattr(settings, "WEBAPP_BASE_URL", "http://localhost:8000").rstrip("/")
    return f"{base}{path}"


def invitation_member_for(token: str) -> User:
    """The invited member a link is for; `InvitationInvalid` when it is not usable."""
    try:
        payload = signing.loads(
            token, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE.total_seconds()
        )
    except signing.BadSignature as exc:  # SignatureExpired is a BadSignature
        raise InvitationInvalid("This invitation link is invalid or has expired.") from exc
    member = (
        User.objects.select_related("organisation")
        .filter(pk=payload.get("m"), status=MemberStatus.INVITED)
        .first()
    )
    if member is None or not constant_time_compare(
        payload.get("f", ""), _invitation_fingerprint(member)
    ):
        raise InvitationInvalid("This invitation link has already been used or was withdrawn.")
    return member


def invitation_send(*, member: User, request=None) -> None:
    """E-mail an invited member their link, after the inviting transaction commits.

    Called by whatever invites a member (the members API, the admin console, a command).
    """
    if member.status != MemberStatus.INVITED:
        return
    link = invitation_link_for(member, request)
    context = {
        "member": member,
        "organisation": member.organisation,
        "link": link,
        "days": INVITATION_MAX_AGE.days,
    }
    subject = f"You are invited to {member.organisation} on the phone system"
    body = render_to_string("webapp/email/invitation.txt", context)
    transaction.on_commit(
        partial(
            send_mail,
            subject,
            body,
            settings.DEFAULT_FROM_EMAIL,
            [member.email],
            fail_silently=False,
        )
    )


@transaction.atomic
def invitation_accept(*, member: User, password: str, name: str | None = None) -> User:
    """The invited member sets a password and becomes active, keeping what was assigned."""
    member = User.objects.select_for_update().get(pk=member.pk)
    if member.status != MemberStatus.INVITED:
        raise InvitationInvalid("This invitation link has already been used or was withdrawn.")
    member.set_password(password)
    member.status = MemberStatus.ACTIVE
    fields = ["password", "status"]
    if name is not None and name.strip():
        member.name = name.strip()
        fields.append("name")
    member.save(update_fields=fields)
    audit_record(
        organisation=member.organisation, actor=member, action="member.joined", target=member
    )
    return member
