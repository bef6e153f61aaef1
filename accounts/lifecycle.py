"""Where an organisation's people begin and end with what they hold: sign-up (the first billing
period, the default licence type) and member removal (rule 9: licences unassigned, numbers kept
and following the licence). They reach licences, numbers and the renewal, so they sit a layer
above those (docs/architecture.md), beside accounts/closing.py."""

from django.db import transaction
from django.utils import timezone

from accounts.api_tokens import api_token_create
from accounts.audit import audit_record
from accounts.models import DEFAULT_TAX_RATES, ApiToken, MemberStatus, Organisation, User
from accounts.roles import Role
from accounts.services import ensure_may_manage, ensure_other_owner, member_create
from billing.periods import local_date
from billing.renewal import first_renewal_at
from licensing.models import Licence, LicenceType
from numbering.services import history_follow_licence
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
    owner_name: str,
    owner_password: str | None = None,
    owner_password_hash: str | None = None,
) -> tuple[Organisation, User, str]:
    """Create an organisation and its owner. The billing period starts today (the anchor day).

    The owner's password comes as typed (the demo) or already hashed (a confirmed sign-up
    request, accounts/signup.py). A new organisation has no payment method and is therefore
    restricted (rule 18) until it registers one.
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
    owner = member_create(
        organisation=organisation,
        email=owner_email,
        name=owner_name,
        role=Role.OWNER,
        password=owner_password,
    )
    if owner_password_hash:
        owner.password = owner_password_hash
        owner.status = MemberStatus.ACTIVE
        owner.save(update_fields=["password", "status"])
    _, key = api_token_create(user=owner)
    audit_record(
        organisation=organisation, actor=owner, action="organisation.created", target=organisation
    )
    return organisation, owner, key


@transaction.atomic
def member_remove(*, member: User, actor) -> User:
    """Rule 9: deactivate the member; their licences become unassigned, keeping their numbers."""
    org = organisation_for_update(member.organisation_id)
    member = User.objects.select_for_update().get(pk=member.pk, organisation=org)
    ensure_may_manage(actor, member.role)
    if member.role == Role.OWNER:
        ensure_other_owner(member)
    licences = list(Licence.objects.select_for_update().filter(member=member).order_by("pk"))
    for licence in licences:
        licence.member = None
    Licence.objects.bulk_update(licences, ["member"])
    for licence in licences:
        history_follow_licence(licence=licence)
    member.status = MemberStatus.DEACTIVATED
    member.save(update_fields=["status"])
    ApiToken.objects.filter(user=member).delete()
    audit_record(
        organisation=org,
        actor=actor,
        action="member.removed",
        target=member,
        changes={"licences_unassigned": [str(licence.pk) for licence in licences]},
    )
    return member
