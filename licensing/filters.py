"""FilterSets for licences, shared by the API and the webapp.

Related-id filters (member, line) choose only within the caller's organisation: django-filter
accepts any row by default, which would let a caller probe another organisation's ids.
"""

import django_filters

from accounts.models import User
from licensing.models import Licence, LicenceKind, LicenceStatus, LicenceType, Line


def _organisation_id(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False  # no rows
    return None if user.is_superuser else user.organisation_id


def members_of_caller(request):
    organisation_id = _organisation_id(request)
    qs = User.objects.filter(is_superuser=False)
    if organisation_id is False:
        return qs.none()
    return qs if organisation_id is None else qs.filter(organisation_id=organisation_id)


def lines_of_caller(request):
    organisation_id = _organisation_id(request)
    if organisation_id is False:
        return Line.objects.none()
    qs = Line.objects.all()
    return qs if organisation_id is None else qs.filter(organisation_id=organisation_id)


class LicenceFilterSet(django_filters.FilterSet):
    type = django_filters.ModelChoiceFilter(
        field_name="licence_type",
        to_field_name="code",
        queryset=LicenceType.objects.all(),
        label="Licence type code",
    )
    kind = django_filters.ChoiceFilter(field_name="licence_type__kind", choices=LicenceKind.choices)
    status = django_filters.ChoiceFilter(choices=LicenceStatus.choices)
    assigned = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_assigned",
        label="Held by a member, a line or a base licence",
    )
    member = django_filters.ModelChoiceFilter(queryset=members_of_caller)
    line = django_filters.ModelChoiceFilter(queryset=lines_of_caller)
    extension = django_filters.CharFilter()

    class Meta:
        model = Licence
        fields = ["type", "kind", "status", "assigned", "member", "line", "extension"]

    def filter_assigned(self, queryset, name, value):
        return queryset.assigned() if value == "true" else queryset.unassigned()


class LicenceTypeFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=LicenceKind.choices)

    class Meta:
        model = LicenceType
        fields = ["kind"]


class LineFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Line._meta.get_field("kind").choices)

    class Meta:
        model = Line
        fields = ["kind"]
