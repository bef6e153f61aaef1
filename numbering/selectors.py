from django.db.models import Q

from accounts.models import Organisation
from numbering.models import HELD_STATUSES, NumberAssignment, NumberStatus, PhoneNumber


def number_list(*, organisation: Organisation | None, member=None):
    """Numbers an organisation holds (released ones are history, not listed)."""
    qs = PhoneNumber.objects.exclude(status=NumberStatus.RELEASED).select_related(
        "licence__licence_type", "licence__member", "licence__line",
        "licence__base_licence__member", "licence__base_licence__line",
    )
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    if member is not None:
        qs = qs.filter(Q(licence__member=member) | Q(licence__base_licence__member=member))
    return qs


def numbers_held_by(*, member=None, line=None):
    """Numbers a member (or line) holds: on their licences and on add-ons of those licences."""
    if member is not None:
        holder = Q(licence__member=member) | Q(licence__base_licence__member=member)
    else:
        holder = Q(licence__line=line) | Q(licence__base_licence__line=line)
    return PhoneNumber.objects.filter(holder, status__in=HELD_STATUSES)


def number_holder(number: PhoneNumber):
    """(member, line) a number is assigned to, through its licence (or the licence's base)."""
    licence = number.licence
    if licence is None:
        return None, None
    owner = licence.base_licence if licence.base_licence_id else licence
    return owner.member, owner.line


def number_history(*, number: PhoneNumber):
    return NumberAssignment.objects.filter(number=number).select_related(
        "member", "line", "licence__licence_type"
    )
