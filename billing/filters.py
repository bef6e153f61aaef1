"""FilterSets for invoices and usage, shared by the API and the webapp.

Related-id filters (member) choose only within the caller's organisation, as licensing.filters
does: another organisation's id is an invalid choice, never a probe.
"""

import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from billing.models import Invoice, InvoiceStatus, UsageKind, UsageRecord
from billing.periods import local_midnight
from licensing.filters import members_of_caller


class InvoiceFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    issued_from = django_filters.DateFilter(
        field_name="issued_on", lookup_expr="gte", label="Issued on or after (YYYY-MM-DD)"
    )
    issued_to = django_filters.DateFilter(
        field_name="issued_on", lookup_expr="lte", label="Issued on or before (YYYY-MM-DD)"
    )

    class Meta:
        model = Invoice
        fields = ["status", "issued_from", "issued_to"]


# "…T10:00:00+01:00" unencoded in a query string arrives as "…T10:00:00 01:00".
_LOST_PLUS = re.compile(r" (\d{2}(?::?\d{2})?)$")


class DateOrDateTimeField(forms.Field):
    """`YYYY-MM-DD` (a local date) or an ISO 8601 date-time; `+` of an offset survives a query
    string that turned it into a space."""

    default_error_messages = {
        "invalid": "Give a date (YYYY-MM-DD) or a date-time with its offset (ISO 8601).",
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            if "T" in text or ":" in text:
                parsed = parse_datetime(_LOST_PLUS.sub(r"+\1", text))
            else:
                parsed = parse_date(text)
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


@extend_schema_field(OpenApiTypes.STR)
class DateOrDateTimeFilter(django_filters.Filter):
    field_class = DateOrDateTimeField


def _caller_zone(request) -> str:
    organisation = getattr(getattr(request, "user", None), "organisation", None)
    return organisation.timezone if organisation is not None else "UTC"


class UsageFilterSet(django_filters.FilterSet):
    member = django_filters.ModelChoiceFilter(queryset=members_of_caller)
    number = django_filters.CharFilter(
        method="filter_number", label="The number's id or its E.164 form (+33612345678)"
    )
    kind = django_filters.ChoiceFilter(choices=UsageKind.choices)
    started_from = DateOrDateTimeFilter(
        method="filter_started_from",
        label="Started at or after: a local date (from its first instant) or a date-time",
    )
    started_to = DateOrDateTimeFilter(
        method="filter_started_to",
        label="Started at or before: a local date (to its last instant) or a date-time",
    )

    class Meta:
        model = UsageRecord
        fields = ["member", "number", "kind", "started_from", "started_to"]

    def filter_number(self, queryset, name, value):
        text = value.strip()
        try:
            return queryset.filter(number_id=uuid.UUID(text))
        except ValueError:
            pass
        digits = text.lstrip("+ ")
        return queryset.filter(number__e164=f"+{digits}")

    def _instant(self, value: date | datetime, *, end: bool) -> datetime:
        zone = _caller_zone(self.request)
        if isinstance(value, datetime):
            return value if timezone.is_aware(value) else value.replace(tzinfo=ZoneInfo(zone))
        return local_midnight(value + timedelta(days=1) if end else value, zone)

    def filter_started_from(self, queryset, name, value):
        return queryset.filter(started_at__gte=self._instant(value, end=False))

    def filter_started_to(self, queryset, name, value):
        if isinstance(value, datetime):
            return queryset.filter(started_at__lte=self._instant(value, end=True))
        return queryset.filter(started_at__lt=self._instant(value, end=True))
