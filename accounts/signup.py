"""Signing up without revealing who has an account (docs/security.md "Enumeration").

`signup_request` answers the same whatever the address: it e-mails a confirmation link to an
address no one uses, and a "you already have an account" note to one that is taken. Only the
link, opened by whoever reads that mailbox, creates the organisation and its owner
(`signup_confirm`, through `lifecycle.organisation_signup`). The password is hashed at once and
kept on the request, never in the link; a link works once and expires after
SIGNUP_CONFIRMATION_MAX_AGE.
"""

import datetime as dt
from functools import partial

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.lifecycle import organisation_signup
from accounts.models import Organisation, SignupRequest, User

SIGNUP_SALT = "accounts.signup"
SIGNUP_CONFIRMATION_MAX_AGE = dt.timedelta(days=2)


class SignupLinkInvalid(ValidationError):
    """The confirmation link is malformed, expired or already used."""

    def __init__(self, message: str):
        super().__init__(message, code="signup_link_invalid")


def signup_link_for(signup: SignupRequest, request=None) -> str:
    token = signing.dumps({"r": str(signup.pk)}, salt=SIGNUP_SALT)
    path = reverse("webapp:signup_confirm", kwargs={"token": token})
    if request is not None:
        return request.build_absolute_uri(path)
    base = getattr(settings, "WEBAPP_BASE_URL", "http://localhost:8000").rstrip("/")
    return f"{base}{path}"


def _mail_after_commit(template: str, subject: str, email: str, context: dict) -> None:
    body = render_to_string(template, context)
    transaction.on_commit(
        partial(send_mail, subject, body, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=False)
    )


@transaction.atomic
def signup_request(
    *, owner_email: str, owner_password: str, owner_name: str, request=None, **organisation
) -> None:
    """Take a sign-up (fields already validated) and e-mail its owner; create nothing else.

    `organisation` holds the organisation's details as `organisation_signup` takes them
    (organisation_name, country, currency, timezone_name, plan, billing_frequency,
    licence_policy). Returns nothing: the caller answers the same whatever happened."""
    email = User.objects.normalize_email(owner_email).strip().lower()
    # Hashed on both paths, so the answer takes as long whether the address is known or not.
    password_hash = make_password(owner_password)
    context = {"name": owner_name.strip(), "organisation_name": organisation["organisation_name"]}
    if User.objects.filter(email__iexact=email).exists():
        _mail_after_commit(
            "registration/signup_known_email.txt",
            "You already have an account on the phone system",
            email,
            {**context, "sign_in": _absolute(reverse("webapp:login"), request)},
        )
        return
    signup = SignupRequest.objects.create(
        email=email,
        details={**organisation, "owner_name": owner_name},
        password_hash=password_hash,
    )
    _mail_after_commit(
        "registration/signup_confirm_email.txt",
        f"Confirm the sign-up of {context['organisation_name']}",
        email,
        {
            **context,
            "link": signup_link_for(signup, request),
            "days": SIGNUP_CONFIRMATION_MAX_AGE.days,
        },
    )


def _absolute(path: str, request) -> str:
    if request is not None:
        return request.build_absolute_uri(path)
    return getattr(settings, "WEBAPP_BASE_URL", "http://localhost:8000").rstrip("/") + path


def signup_request_for(token: str) -> SignupRequest:
    """The unconfirmed request a link is for; `SignupLinkInvalid` when it is not usable."""
    try:
        payload = signing.loads(
            token, salt=SIGNUP_SALT, max_age=SIGNUP_CONFIRMATION_MAX_AGE.total_seconds()
        )
    except signing.BadSignature as exc:  # SignatureExpired is a BadSignature
        raise SignupLinkInvalid("This confirmation link is invalid or has expired.") from exc
    signup = SignupRequest.objects.filter(pk=payload.get("r"), confirmed_at__isnull=True).first()
    if signup is None:
        raise SignupLinkInvalid("This confirmation link has already been used.")
    return signup


@transaction.atomic
def signup_confirm(*, token: str) -> tuple[Organisation, User, str]:
    """Create the organisation and its owner from a confirmed request, once: a second use of
    the link, even at the same moment, is `SignupLinkInvalid`."""
    signup = signup_request_for(token)
    signup = SignupRequest.objects.select_for_update().get(pk=signup.pk)
    if signup.confirmed_at is not None:
        raise SignupLinkInvalid("This confirmation link has already been used.")
    details = dict(signup.details)
    result = organisation_signup(
        owner_email=signup.email,
        owner_name=details.pop("owner_name"),
        owner_password_hash=signup.password_hash,
        **details,
    )
    signup.confirmed_at = timezone.now()
    signup.password_hash = ""  # the owner has it now; the request keeps no credential
    signup.save(update_fields=["confirmed_at", "password_hash"])
    return result


def signup_requests_discard(*, at: dt.datetime) -> int:
    """Delete the requests whose link has expired (confirmed ones keep no credential and are
    deleted too); for the daily clean-up job."""
    deleted, _ = SignupRequest.objects.filter(
        created_at__lte=at - SIGNUP_CONFIRMATION_MAX_AGE
    ).delete()
    return deleted
