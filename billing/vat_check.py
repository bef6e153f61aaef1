"""Checking VAT numbers: a boundary chosen in settings, like the carrier (docs/architecture.md).

`VAT_CHECKER` names the checker class:
- `billing.vat_check.OfflineVatChecker` (the default): format and check digits with
  python-stdnum, no network; what `make run` and the tests use;
- `billing.vat_check.ViesVatChecker`: the same, then the European Commission's VIES service
  (python-stdnum's `check_vies`), for production. When VIES cannot answer the number is
  "unavailable", and the invoice charges VAT and says why (billing.vat, fail closed).

`vat_number_check` keeps each answer for a day (`VatNumberCheck`), records each real check in
the organisation's audit trail, and never keeps "unavailable" as an answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from stdnum.eu import vat as eu_vat

from accounts.audit import audit_record
from billing.models import VatNumberCheck
from billing.vat import VatNumberStatus

CACHE_FOR = dt.timedelta(days=1)


@dataclass(frozen=True)
class VatCheckAnswer:
    status: str  # VatNumberStatus: valid, invalid or unavailable
    detail: str = ""


class OfflineVatChecker:
    """Format and check digits only: a number can be well formed and still not registered."""

    source = "offline"

    def check(self, number: str) -> VatCheckAnswer:
        if eu_vat.is_valid(number):
            return VatCheckAnswer(VatNumberStatus.VALID, "format and check digits")
        return VatCheckAnswer(VatNumberStatus.INVALID, "format or check digits wrong")


class ViesVatChecker:
    """VIES: is the number registered for intra-EU trade today?"""

    source = "vies"

    def __init__(self, timeout: float = 10):
        self.timeout = timeout

    def check(self, number: str) -> VatCheckAnswer:
        offline = OfflineVatChecker().check(number)
        if offline.status != VatNumberStatus.VALID:
            return offline
        try:
            answer = eu_vat.check_vies(number, timeout=self.timeout)
        except Exception as exc:  # the service down, a member state unavailable, a timeout
            return VatCheckAnswer(
                VatNumberStatus.UNAVAILABLE, f"the EU's VIES service did not answer: {exc}"[:300]
            )
        if answer.get("valid"):
            return VatCheckAnswer(VatNumberStatus.VALID, "registered in VIES")
        return VatCheckAnswer(VatNumberStatus.INVALID, "not registered in VIES")


def vat_checker():
    return import_string(getattr(settings, "VAT_CHECKER", "billing.vat_check.OfflineVatChecker"))()


def vat_number_check(number: str, *, organisation, actor, at: dt.datetime | None = None):
    """The state of `number` (compact form, e.g. "DE136695976"): a check of the last day, or a
    new one through the configured checker, recorded in `organisation`'s audit trail."""
    at = at or timezone.now()
    recent = (
        VatNumberCheck.objects.filter(number=number, checked_at__gt=at - CACHE_FOR)
        .exclude(status=VatNumberStatus.UNAVAILABLE)
        .first()
    )
    if recent is not None:
        return recent
    checker = vat_checker()
    answer = checker.check(number)
    check = VatNumberCheck.objects.create(
        number=number,
        status=answer.status,
        source=checker.source,
        detail=answer.detail,
        checked_at=at,
    )
    audit_record(
        organisation=organisation,
        actor=actor,
        action="vat_number.checked",
        target=check,
        changes={"number": number, "status": answer.status, "source": checker.source},
    )
    return check
