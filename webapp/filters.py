"""FilterSets for messages, calls and voicemails, shared by the webapp and the API.

The querysets they filter are already the member's own (webapp.selectors); a number filter only
narrows them, so naming another member's number finds nothing rather than their rows.
"""

import uuid

import django_filters
import phonenumbers
from django import forms

from billing.models import UsageDirection, UsageRecord
from numbering.models import PhoneNumber
from webapp.models import Message, Voicemail
from webapp.selectors import my_numbers


def _numbers_of_request(request):
    if request is None or not getattr(request.user, "organisation_id", None):
        return PhoneNumber.objects.none()
    return my_numbers(organisation=request.user.organisation, member=request.user)


def _normalise(value: str) -> str:
    text = (value or "").strip()
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def filter_number(queryset, name, value):
    """`number` is a number's id or its E.164 form (spaces and the leading + are forgiven)."""
    text = (value or "").strip()
    if not text:
        return queryset
    try:
        return queryset.filter(number_id=uuid.UUID(text))
    except ValueError:
        pass
    if not text.startswith("+"):
        text = f"+{text}"
    return queryset.filter(number__e164=_normalise(text))


def filter_peer(queryset, name, value):
    text = (value or "").strip()
    if not text:
        return queryset
    return queryset.filter(peer=_normalise(text) if text.startswith("+") else text)


class MessageFilterSet(django_filters.FilterSet):
    number = django_filters.CharFilter(method=filter_number, label="Number (E.164 or id)")
    peer = django_filters.CharFilter(method=filter_peer, label="Other party (E.164)")
    direction = django_filters.ChoiceFilter(choices=Message._meta.get_field("direction").choices)

    class Meta:
        model = Message
        fields = ["number", "peer", "direction"]


class _DateInput(forms.DateInput):
    input_type = "date"


class CallFilterSet(django_filters.FilterSet):
    """Call history: number, direction, and dates (in the member's display time zone)."""

    number = django_filters.ModelChoiceFilter(
        queryset=_numbers_of_request, empty_label="All numbers", label="Number"
    )
    direction = django_filters.ChoiceFilter(
        choices=UsageDirection.choices, empty_label="Both ways", label="Direction"
    )
    started_from = django_filters.DateFilter(
        field_name="started_at", lookup_expr="date__gte", label="From", widget=_DateInput
    )
    started_to = django_filters.DateFilter(
        field_name="started_at", lookup_expr="date__lte", label="To", widget=_DateInput
    )

    class Meta:
        model = UsageRecord
        fields = ["number", "direction", "started_from", "started_to"]


class VoicemailFilterSet(django_filters.FilterSet):
    number = django_filters.CharFilter(method=filter_number, label="Number (E.164 or id)")

    class Meta:
        model = Voicemail
        fields = ["number"]
