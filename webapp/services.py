"""What an end user (and the telephony platform, for them) changes: invitations accepted,
profile and password, text messages sent and received, voicemails stored and deleted.

Each public function is one transaction that locks what it checks. Mail and the messaging
gateway run after commit.
"""

import datetime as dt
import logging
import re
from functools import partial

import phonenumbers
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiToken, User, validate_timezone
from accounts.sign_in_limit import sign_in_limit_lift
from billing.models import UsageDirection, UsageKind
from billing.usage import usage_record
from licensing.models import Licence
from numbering.models import NumberStatus, PhoneNumber
from numbering.phone import SMS, format_for_people
from telecom import errors
from webapp.audio import EXTENSIONS, SNIFF_BYTES, sniff_audio, wav_duration_seconds
from webapp.gateways import GatewayError, MessagingGateway, messaging_gateway
from webapp.models import (
    Message,
    MessageDirection,
    MessageStatus,
    Voicemail,
)

logger = logging.getLogger(__name__)

# --- profile ------------------------------------------------------------------------------------


@transaction.atomic
def profile_update(*, member: User, name: str, timezone_name: str) -> User:
    """A member's own name and display time zone (blank: the organisation's)."""
    if timezone_name:
        validate_timezone(timezone_name)
    member = User.objects.select_for_update().get(pk=member.pk)
    before = {"name": member.name, "timezone": member.timezone}
    member.name = name.strip()
    member.timezone = timezone_name
    member.save(update_fields=["name", "timezone"])
    after = {"name": member.name, "timezone": member.timezone}
    if before != after:
        audit_record(
            organisation=member.organisation,
            actor=member,
            action="member.profile_updated",
            target=member,
            changes={"before": before, "after": after},
        )
    return member


@transaction.atomic
def password_change(*, member: User, password: str) -> User:
    """A new password (the member's own change, or a completed reset): lifts the sign-in limit
    on the account, as the refusal's message promises."""
    member = User.objects.select_for_update().get(pk=member.pk)
    member.set_password(password)
    member.save(update_fields=["password"])
    sign_in_limit_lift(member.email)
    ApiToken.objects.filter(user=member).delete()  # a new password voids every API token
    audit_record(
        organisation=member.organisation,
        actor=member,
        action="member.password_changed",
        target=member,
    )
    return member


# --- messages (rule 10, rule 21) ---------------------------------------------------------------

MESSAGE_MAX_LENGTH = 1600  # ten concatenated segments
# Inbound senders may be short codes or alphanumeric sender ids ("BANK") rather than numbers.
_SENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .&'-]{0,10}$")


def _e164(raw: str, *, field: str, region: str | None = None) -> str:
    """Any valid, dialable number (not only the countries where numbers are offered)."""
    text = (raw or "").strip()
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            {field: ValidationError(f"{text!r} is not a phone number.", code="invalid_number")}
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            {field: ValidationError(f"{text!r} is not a valid number.", code="invalid_number")}
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def peer_normalise(raw: str, *, region: str | None = None) -> str:
    """A peer as stored: E.164 when it is a valid number, else the text as given."""
    try:
        return _e164(raw, field="peer", region=region)
    except ValidationError:
        return (raw or "").strip()


def _sender(raw: str, *, field: str) -> str:
    text = (raw or "").strip()
    try:
        return _e164(text, field=field)
    except ValidationError:
        if _SENDER_ID.match(text):
            return text
        raise


def _body(raw: str) -> str:
    body = (raw or "").strip()
    if not body:
        raise ValidationError(
            {"body": ValidationError("Write a message to send.", code="required")}
        )
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ValidationError(
            {
                "body": ValidationError(
                    f"A message holds at most {MESSAGE_MAX_LENGTH} characters.",
                    code="max_length",
                )
            }
        )
    return body


def _lock_held_number(number: PhoneNumber) -> tuple[PhoneNumber, User | None]:
    """Lock the number and its licence (the same order as `number_reassign`); its holder."""
    number = PhoneNumber.objects.select_for_update(of=("self",)).get(pk=number.pk)
    if number.status != NumberStatus.ASSIGNED or number.licence_id is None:
        return number, None
    licence = Licence.objects.select_for_update(of=("self",)).get(pk=number.licence_id)
    if licence.base_licence_id:
        licence = Licence.objects.select_for_update(of=("self",)).get(pk=licence.base_licence_id)
    return number, licence.member


def _ensure_sms(number: PhoneNumber, *, receiving: bool = False) -> None:
    """Rule 10: text messages only where the number's country and type allow them."""
    if SMS not in number.capabilities:
        what = "receive" if receiving else "send"
        raise errors.CapabilityMissing(
            f"{format_for_people(number.e164)} is a {number.get_number_type_display().lower()} "
            f"number and cannot {what} text messages."
        )


@transaction.atomic
def message_send(
    *, member: User, number: PhoneNumber, to: str, body: str, at: dt.datetime | None = None
) -> Message:
    """Send an SMS from one of the member's numbers (rule 10), recorded as usage (rule 21).

    The usage is recorded first: at the cap, `calling_credit_cap_reached` is raised and nothing is
    stored or sent. The gateway sends after commit and the message becomes sent (or failed).
    """
    at = at or timezone.now()
    body = _body(body)
    number, holder = _lock_held_number(number)
    if holder is None or holder.pk != member.pk:
        raise PermissionDenied("You can only send from a number assigned to you.")
    peer = _e164(to, field="to", region=number.country)
    _ensure_sms(number)
    gateway = messaging_gateway()
    cost = gateway.price(from_e164=number.e164, to_e164=peer, body=body)
    usage = usage_record(
        number=number,
        kind=UsageKind.SMS,
        direction=UsageDirection.OUTBOUND,
        started_at=at,
        cost=cost,
        destination=peer,
    )
    message = Message.objects.create(
        organisation_id=number.organisation_id,
        number=number,
        member=member,
        direction=MessageDirection.OUTBOUND,
        peer=peer,
        body=body,
        sent_at=at,
        status=MessageStatus.QUEUED,
        usage=usage,
    )
    transaction.on_commit(partial(_deliver, message, gateway))
    return message


def _deliver(message: Message, gateway: MessagingGateway) -> None:
    try:
        result = gateway.send(
            from_e164=message.number.e164, to_e164=message.peer, body=message.body
        )
    except Exception as exc:
        # Sent after commit: a failure cannot undo the transaction, it marks the message.
        if not isinstance(exc, GatewayError):
            logger.exception("Messaging gateway failed on message %s", message.pk)
        message.status = MessageStatus.FAILED
    else:
        message.status = MessageStatus.SENT
        message.gateway_reference = result.reference
    Message.objects.filter(pk=message.pk).update(
        status=message.status, gateway_reference=message.gateway_reference
    )


def _number_in_service(raw: str, *, field: str) -> PhoneNumber:
    e164 = _e164(raw, field=field)
    number = (
        PhoneNumber.objects.select_related("organisation")
        .filter(e164=e164, status=NumberStatus.ASSIGNED)
        .first()
    )
    if number is None:
        raise ValidationError(
            {field: ValidationError(f"{e164} is not a number in service.", code="not_in_service")}
        )
    return number


@transaction.atomic
def message_receive(*, to_number: str, sender: str, body: str, received_at: dt.datetime) -> Message:
    """Store an SMS the telephony platform received for one of the product's numbers."""
    number = _number_in_service(to_number, field="to_number")
    peer = _sender(sender, field="from")
    body = _body(body)
    number, holder = _lock_held_number(number)
    _ensure_sms(number, receiving=True)
    return Message.objects.create(
        organisation_id=number.organisation_id,
        number=number,
        member=holder,
        direction=MessageDirection.INBOUND,
        peer=peer,
        body=body,
        sent_at=received_at,
        status=MessageStatus.RECEIVED,
    )


# --- voicemail ---------------------------------------------------------------------------------

VOICEMAIL_MAX_BYTES = 10 * 1024 * 1024


def _voicemail_max_bytes() -> int:
    return int(getattr(settings, "VOICEMAIL_MAX_BYTES", VOICEMAIL_MAX_BYTES))


def _audio_error(message: str, code: str) -> ValidationError:
    return ValidationError({"audio": ValidationError(message, code=code)})


@transaction.atomic
def voicemail_store(*, number: str, caller: str, received_at: dt.datetime, audio) -> Voicemail:
    """Keep a voicemail the telephony platform uploaded for a number in service.

    The audio is checked by its bytes (a playable format) and its size (capped).
    """
    target = _number_in_service(number, field="number")
    caller = _sender(caller, field="caller")
    limit = _voicemail_max_bytes()
    if audio is None or not audio.size:
        raise _audio_error("Attach the voicemail's audio file.", "required")
    if audio.size > limit:
        raise _audio_error(
            f"The audio file is {audio.size} bytes; at most {limit} are accepted.",
            "file_too_large",
        )
    audio.seek(0)
    data = audio.read()
    content_type = sniff_audio(data[:SNIFF_BYTES])
    if content_type is None:
        raise _audio_error(
            "The file is not audio in a supported format (WAV, MP3, Ogg, WebM, M4A, FLAC).",
            "unsupported_audio",
        )
    target, holder = _lock_held_number(target)
    voicemail = Voicemail(
        organisation_id=target.organisation_id,
        number=target,
        member=holder,
        caller=caller,
        received_at=received_at,
        content_type=content_type,
        size=len(data),
        duration_seconds=wav_duration_seconds(data) if content_type == "audio/wav" else None,
    )
    voicemail.audio.save(f"voicemail.{EXTENSIONS[content_type]}", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            voicemail.save()
    except Exception:
        # The file is written before its row; a row that cannot be stored leaves no file behind.
        voicemail.audio.storage.delete(voicemail.audio.name)
        raise
    return voicemail


@transaction.atomic
def voicemail_delete(*, voicemail: Voicemail, actor: User) -> None:
    """A member deletes one of their voicemails; the audio file goes after commit."""
    voicemail = Voicemail.objects.select_for_update().get(pk=voicemail.pk)
    if voicemail.member_id != actor.pk:
        raise PermissionDenied("You can only delete your own voicemails.")
    storage, name = voicemail.audio.storage, voicemail.audio.name
    voicemail.delete()
    transaction.on_commit(partial(storage.delete, name))
