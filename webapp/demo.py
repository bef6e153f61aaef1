"""Demo activity for the webapp: messages, calls and voicemails on the demo members' numbers.

Called by `manage.py seed_demo` after the demo organisations exist. Idempotent: a member who
already has messages, calls or voicemails gets none added. Everything goes through the services,
so the SMS sent here are recorded as usage like any other.
"""

import datetime as dt
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import MemberStatus, User
from billing.models import UsageDirection, UsageKind, UsageRecord
from billing.usage import usage_record
from numbering.phone import SMS
from webapp import services
from webapp.audio import wav_tone
from webapp.models import Message, Voicemail
from webapp.selectors import my_numbers

DEMO_EMAILS = ("user@acme.example", "owner@acme.example", "admin@acme.example")

# (peer, [(minutes ago, direction, body)])
CONVERSATIONS = [
    (
        "+33698765432",
        [
            (2 * 24 * 60 + 35, "inbound", "Hi, are we still on for the site visit on Thursday?"),
            (2 * 24 * 60 + 30, "outbound", "Yes, 10:00 at the main entrance. See you there."),
            (2 * 24 * 60 + 12, "inbound", "Perfect, thanks!"),
        ],
    ),
    (
        "+447400123456",
        [
            (
                26 * 60,
                "outbound",
                "The quote is in your inbox. Let me know if anything is unclear.",
            ),
            (25 * 60, "inbound", "Got it. Can we talk tomorrow afternoon?"),
        ],
    ),
    ("DELIVERY", [(50, "inbound", "Your parcel will be delivered today between 14:00 and 16:00.")]),
]

# (minutes ago, direction, other party, seconds, cost)
CALLS = [
    (30, "inbound", "+33698765432", 184, "0.00"),
    (3 * 60, "outbound", "+33145678901", 421, "0.35"),
    (26 * 60, "outbound", "+447400123456", 96, "0.42"),
    (2 * 24 * 60, "inbound", "+34612000111", 45, "0.00"),
    (4 * 24 * 60, "outbound", "+33612000222", 1260, "0.90"),
    (6 * 24 * 60, "inbound", "+32470111222", 12, "0.00"),
]

# (minutes ago, caller, seconds, tone)
VOICEMAILS = [
    (95, "+33698765432", 3, 440.0),
    (27 * 60, "+447400123456", 2, 523.25),
]


def demo_activity_seed(*, now: dt.datetime | None = None) -> int:
    """Give the demo members some activity; returns how many members got some."""
    now = now or timezone.now()
    seeded = 0
    members = User.objects.filter(email__in=DEMO_EMAILS, status=MemberStatus.ACTIVE)
    for member in members.select_related("organisation"):
        if _has_activity(member):
            continue
        numbers = list(my_numbers(organisation=member.organisation, member=member))
        if not numbers:
            continue
        _seed_member(member, numbers, now)
        seeded += 1
    return seeded


def _has_activity(member: User) -> bool:
    return (
        Message.objects.filter(member=member).exists()
        or Voicemail.objects.filter(member=member).exists()
        or UsageRecord.objects.filter(member=member, kind=UsageKind.CALL).exists()
    )


def _seed_member(member: User, numbers, now: dt.datetime) -> None:
    texting = next((n for n in numbers if SMS in n.capabilities), None)
    voice = numbers[0]
    if texting is not None:
        for peer, lines in CONVERSATIONS:
            for minutes, direction, body in lines:
                at = now - dt.timedelta(minutes=minutes)
                if direction == "outbound":
                    services.message_send(member=member, number=texting, to=peer, body=body, at=at)
                else:
                    services.message_receive(
                        to_number=texting.e164, sender=peer, body=body, received_at=at
                    )
    for index, (minutes, direction, peer, seconds, cost) in enumerate(CALLS):
        number = numbers[index % len(numbers)]
        usage_record(
            number=number,
            kind=UsageKind.CALL,
            direction=UsageDirection(direction),
            started_at=now - dt.timedelta(minutes=minutes),
            cost=Decimal(cost),
            duration_seconds=seconds,
            destination=peer,
        )
    for minutes, caller, seconds, tone in VOICEMAILS:
        audio = SimpleUploadedFile(
            "voicemail.wav", wav_tone(seconds=seconds, frequency=tone), "audio/wav"
        )
        services.voicemail_store(
            number=voice.e164,
            caller=caller,
            received_at=now - dt.timedelta(minutes=minutes),
            audio=audio,
        )
