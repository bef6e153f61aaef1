"""FilterSets for phone numbers, shared by the API and the webapp.

Related-id filters (member, line, licence) choose only within the caller's organisation:
django-filter accepts any row by default, which would let a caller probe another organisation's
ids. A foreign id is "not one of the available choices" (400), exactly like an unknown one.
"""

import django_filters
from django.db.models import Q

from licensing.filters import lines_of_caller, members_of_caller
from licensing.models import Licence
from numbering.models import NumberStatus, NumberType, PhoneNumber
from numbering.phone import SUPPORTED_COUNTRIES
from numbering.selectors import holder_licences

# Released numbers are history, never listed (numbering.selectors.number_list).
LISTED_STATUSES = [
    (value, label) for value, label in NumberStatus.choices if value != NumberStatus.RELEASED
]


def licences_of_caller(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Licence.objects.none()
    if user.is_superuser:
        return Licence.objects.all()
    return Licence.objects.filter(organisation_id=user.organisation_id)


def digits_of(text: str) -> str:
    """ "+33 6 12-34" → "3361234": how a number is searched, whatever its formatting."""
    return "".join(ch for ch in text if ch.isdigit())


def number_search_q(term: str) -> Q:
    """A number's digits, or its holder's name or e-mail (a member, or a line's name)."""
    term = term.strip()
    match = Q(licence__member__name__icontains=term) | Q(licence__member__email__icontains=term)
    match |= Q(licence__base_licence__member__name__icontains=term)
    match |= Q(licence__base_licence__member__email__icontains=term)
    match |= Q(licence__line__name__icontains=term)
    digits = digits_of(term)
    if digits:
        match |= Q(e164__contains=digits)
    return match


class PhoneNumberFilterSet(django_filters.FilterSet):
    country = django_filters.ChoiceFilter(
        choices=[(c, c) for c in SUPPORTED_COUNTRIES], label="ISO country code (FR, GB, ...)"
    )
    type = django_filters.ChoiceFilter(field_name="number_type", choices=NumberType.choices)
    status = django_filters.ChoiceFilter(choices=LISTED_STATUSES)
    member = django_filters.ModelChoiceFilter(
        queryset=members_of_caller,
        field_name="licence__member",
        method="filter_member",
        label="Held by this member",
    )
    line = django_filters.ModelChoiceFilter(
        queryset=lines_of_caller,
        field_name="licence__line",
        method="filter_line",
        label="Held by this line",
    )
    licence = django_filters.ModelChoiceFilter(queryset=licences_of_caller)
    search = django_filters.CharFilter(
        method="filter_search",
        label="Digits of the number (spaces and + ignored), or the member's name or e-mail",
    )

    class Meta:
        model = PhoneNumber
        fields = ["country", "type", "status", "member", "line", "licence", "search"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and data.get("country"):  # "fr" is FR
            data = data.copy()
            data["country"] = data["country"].upper()
        super().__init__(data, *args, **kwargs)

    def filter_member(self, queryset, name, value):
        # A number is a member's through its licence, or through the base licence of an add-on.
        return queryset.filter(licence__in=holder_licences(member=value))

    def filter_line(self, queryset, name, value):
        return queryset.filter(licence__in=holder_licences(line=value))

    def filter_search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(number_search_q(value))
