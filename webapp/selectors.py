"""What an end user reads: always their own rows, of their own organisation.

Every selector takes the organisation and the member; another member's row is simply not in the
queryset, so a view's `get_object_or_404` answers 404 for it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, Prefetch, Value, When

from accounts.models import Organisation, User
from billing.models import UsageKind, UsageRecord
from licensing.models import Licence
from numbering.models import NumberType, PhoneNumber
from numbering.selectors import numbers_held_by
from webapp.models import Message, Voicemail

# Mobiles first: they are the numbers people text and are called on; then landlines.
_TYPE_RANK = Case(
    When(number_type=NumberType.MOBILE, then=Value(0)),
    When(number_type=NumberType.LANDLINE, then=Value(1)),
    default=Value(2),
)


def my_numbers(*, organisation: Organisation, member: User):
    """The numbers a member holds, with the licence each one is on."""
    return (
        numbers_held_by(member=member)
        .filter(organisation=organisation)
        .select_related("licence__licence_type", "licence__base_licence__licence_type")
        .annotate(type_rank=_TYPE_RANK)
        .order_by("type_rank", "e164")
    )


def my_licences(*, organisation: Organisation, member: User):
    """The member's base licences with their add-ons and the numbers each holds
    (`held_numbers`), in purchase order."""
    return (
        Licence.objects.filter(organisation=organisation, member=member)
        .select_related("licence_type")
        .prefetch_related(
            Prefetch(
                "addons",
                queryset=Licence.objects.select_related("licence_type").order_by(
                    "licence_type__sort_order", "licence_type__code"
                ),
            ),
            Prefetch(
                "numbers",
                queryset=PhoneNumber.objects.held().order_by("e164"),
                to_attr="held_numbers",
            ),
        )
        .order_by("purchased_at", "pk")
    )


def my_messages(*, organisation: Organisation, member: User):
    return Message.objects.filter(organisation=organisation, member=member).select_related("number")


@dataclass(frozen=True)
class Conversation:
    number: PhoneNumber
    peer: str
    last: Message
    count: int


def my_conversations(*, organisation: Organisation, member: User) -> list[Conversation]:
    """One entry per (number, peer), the latest message first. Two queries whatever the size."""
    latest = list(
        my_messages(organisation=organisation, member=member)
        .order_by("number_id", "peer", "-sent_at", "-created_at")
        .distinct("number_id", "peer")
    )
    counts = {
        (row["number_id"], row["peer"]): row["n"]
        for row in my_messages(organisation=organisation, member=member)
        .order_by()
        .values("number_id", "peer")
        .annotate(n=Count("pk"))
    }
    conversations = [
        Conversation(
            number=m.number, peer=m.peer, last=m, count=counts.get((m.number_id, m.peer), 1)
        )
        for m in latest
    ]
    conversations.sort(key=lambda c: (c.last.sent_at, c.last.created_at), reverse=True)
    return conversations


def my_conversation(
    *, organisation: Organisation, member: User, number: PhoneNumber, peer: str, limit: int = 200
) -> list[Message]:
    """The latest `limit` messages with one peer on one number, oldest first."""
    rows = list(
        my_messages(organisation=organisation, member=member)
        .filter(number=number, peer=peer)
        .order_by("-sent_at", "-created_at")[:limit]
    )
    rows.reverse()
    return rows


def my_calls(*, organisation: Organisation, member: User):
    """Rule 21's usage records of kind call that were the member's."""
    return UsageRecord.objects.filter(
        organisation=organisation, member=member, kind=UsageKind.CALL
    ).select_related("number")


def my_voicemails(*, organisation: Organisation, member: User):
    return Voicemail.objects.filter(organisation=organisation, member=member).select_related(
        "number"
    )


def my_summary(*, organisation: Organisation, member: User, since: datetime) -> dict[str, int]:
    """Counts for the home page: messages received, calls and voicemails since a time."""
    return {
        "messages": my_messages(organisation=organisation, member=member)
        .filter(direction="inbound", sent_at__gte=since)
        .count(),
        "calls": my_calls(organisation=organisation, member=member)
        .filter(started_at__gte=since)
        .count(),
        "voicemails": my_voicemails(organisation=organisation, member=member)
        .filter(received_at__gte=since)
        .count(),
    }
