"""Messaging gateways for tests: one that records what it was asked to send, one that fails."""

from decimal import Decimal

from webapp.gateways import GatewayError, LocalGateway, SendResult

SENT: list[dict] = []


class RecordingGateway(LocalGateway):
    def send(self, *, from_e164: str, to_e164: str, body: str) -> SendResult:
        SENT.append({"from": from_e164, "to": to_e164, "body": body})
        return SendResult(reference=f"rec-{len(SENT)}")


class ExpensiveGateway(RecordingGateway):
    price_per_segment = Decimal("10.00")


class FailingGateway(LocalGateway):
    def send(self, *, from_e164: str, to_e164: str, body: str) -> SendResult:
        raise GatewayError("The operator refused the message.")
