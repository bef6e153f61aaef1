"""The messaging boundary: how an SMS leaves the product.

`settings.MESSAGING_GATEWAY` names the class. The default, `LocalGateway`, sends nothing: it
accepts every message and gives it a local reference, so the product works offline (the carrier
boundary of `numbering.carriers` follows the same idea).

A gateway prices a message before it is sent (the price is recorded as usage and counts against
the calling-credit cap, rule 21) and sends it after the sending transaction commits.
"""

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Protocol
from uuid import uuid4

from django.conf import settings
from django.utils.module_loading import import_string


class GatewayError(Exception):
    """The gateway could not send the message."""


@dataclass(frozen=True)
class SendResult:
    reference: str


class MessagingGateway(Protocol):
    def price(self, *, from_e164: str, to_e164: str, body: str) -> Decimal:
        """What sending this message costs, in the organisation's currency."""

    def send(self, *, from_e164: str, to_e164: str, body: str) -> SendResult:
        """Hand the message over; raise `GatewayError` when it cannot be sent."""


# One SMS segment carries 160 GSM-7 characters, or 153 each when a message is split.
SEGMENT = 160
CONCATENATED_SEGMENT = 153


def segments(body: str) -> int:
    length = len(body)
    return 1 if length <= SEGMENT else -(-length // CONCATENATED_SEGMENT)


class LocalGateway:
    """Records the message locally and reports it sent. Price: a flat rate per segment."""

    price_per_segment = Decimal("0.08")

    def price(self, *, from_e164: str, to_e164: str, body: str) -> Decimal:
        return self.price_per_segment * segments(body)

    def send(self, *, from_e164: str, to_e164: str, body: str) -> SendResult:
        return SendResult(reference=f"local-{uuid4().hex}")


@cache
def _gateway_class(path: str):
    return import_string(path)


def messaging_gateway() -> MessagingGateway:
    return _gateway_class(settings.MESSAGING_GATEWAY)()
