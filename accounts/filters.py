"""FilterSets for members, shared by the API and the webapp."""

import django_filters

from accounts.models import MemberStatus, User
from accounts.roles import Role


class MemberFilterSet(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=[(r.value, r.value) for r in Role])
    status = django_filters.ChoiceFilter(choices=MemberStatus.choices)

    class Meta:
        model = User
        fields = ["role", "status"]
