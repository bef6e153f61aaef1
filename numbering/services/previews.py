"""What an assignment or a reassignment would do now, worked out without writing: the console's
reviews, from the same allocation decisions (`numbering.allocation`) as the services."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Organisation
from billing.quotes import Quote
from licensing.models import Licence, LicenceType
from licensing.services import (
    check_assignee,
    ensure_not_restricted,
)
from numbering.allocation import (
    Allocation,
    NumberRequest,
    ensure_under_plan_cap,
    for_request,
)
from numbering.carriers import carrier
from numbering.models import (
    NumberStatus,
    PhoneNumber,
)
from numbering.phone import parse_number
from numbering.selectors import number_holder
from numbering.services.assign import _cleaned, _validate_kind
from numbering.services.lifecycle import _only_number_on, ensure_recoverable, recover_target
from telecom import errors
from telecom.errors import DomainError

# --- previews: what a change would do, read without writing (the console's reviews) ----------


@dataclass(frozen=True)
class NumberPreview:
    """What `number_assign` (or `number_reassign`) would do now, worked out without writing.

    `source` says where the number would go: "given" (the licence named), "held" (a licence the
    holder has, with a free slot), "free" (an unassigned licence, which becomes theirs),
    "restore" (a licence scheduled for removal, restored at no charge by rule 13, as `quote`
    says), "purchase" (a licence bought by rule 1, charged as `quote`), "moves" (a reassigned
    number takes its licence along, rule 7) or "unchanged" (it is theirs already). `refusal` is the
    rule the change would break; nothing would change then.
    """

    source: str
    licence: Licence | None = None
    licence_type: LicenceType | None = None
    quote: Quote | None = None
    available: list = field(default_factory=list)  # carrier.AvailableNumber, for an assignment
    refusal: DomainError | None = None

    @property
    def licence_purchased(self) -> bool:
        return self.refusal is None and self.source == "purchase"

    @property
    def licence_restored(self) -> bool:
        return self.refusal is None and self.source == "restore"


def number_assign_preview(
    *,
    organisation: Organisation,
    country: str,
    number_type: str,
    member=None,
    line=None,
    e164: str | None = None,
    licence_type: LicenceType | None = None,
    licence: Licence | None = None,
    at: datetime | None = None,
    contains: str = "",
    limit: int = 20,
) -> NumberPreview:
    """`number_assign`'s decisions (rules 1-5 and 18) read-only: which licence the number would
    go on, whether one would be bought and what it would cost, or why it would be refused; with
    the numbers available for it (those containing `contains`, when given). Input errors raise a
    ValidationError, as `number_assign` does.
    """
    at = at or timezone.now()
    country, number_type = _validate_kind(country, number_type)
    if e164:
        e164 = parse_number(e164, declared_type=number_type, country=country).e164
    check_assignee(organisation, member, line)
    available = carrier().search(
        country=country, number_type=number_type, contains=e164 or contains, limit=limit
    )
    pick = None
    try:
        ensure_not_restricted(organisation, at=at)
        slots = Allocation(organisation, [(member, line)], at=at, lock=False)
        pick = slots.choose(
            member=member,
            line=line,
            number_type=number_type,
            licence_type=licence_type,
            licence=licence,
        )
        quote = slots.preview(pick, number_type)
        if not any(e164 in (None, n.e164) for n in available):
            raise errors.NumberUnavailable(
                f"{e164} is not available."
                if e164
                else f"No available {number_type.replace('_', ' ')} number in {country} "
                f"contains {contains}."
                if contains
                else f"No {number_type.replace('_', ' ')} number is available in {country}."
            )
    except DomainError as exc:
        return NumberPreview(
            source=pick.source if pick else "",
            licence=pick.licence if pick else None,
            licence_type=pick.licence_type if pick else None,
            available=available,
            refusal=exc,
        )
    return NumberPreview(
        source=pick.source,
        licence=pick.licence,
        licence_type=pick.licence_type,
        quote=quote,
        available=available,
    )


@dataclass(frozen=True)
class BatchPreview:
    """What `numbers_assign` would do now for a batch: how many numbers go on a licence the
    holder has ("held"), on a free one ("free"), on one scheduled for removal restored at no
    charge ("restore", rule 13) or on one bought (rule 1); `quote` shows the restored and bought
    licences and their cost. Or the first refusal, naming whose number it was, when it would
    change nothing."""

    sources: Counter = field(default_factory=Counter)
    quote: Quote | None = None
    refusal: Exception | None = None

    @property
    def licences_bought(self) -> int:
        return self.sources["purchase"]

    @property
    def licences_restored(self) -> int:
        return self.sources["restore"]


def numbers_assign_preview(
    *, organisation: Organisation, requests: list[NumberRequest], at: datetime | None = None
) -> BatchPreview:
    """`numbers_assign`'s decisions read-only, for the console's review of a batch."""
    at = at or timezone.now()
    requests = list(requests)
    try:
        for index, request in enumerate(requests):
            with for_request(requests, index):
                requests[index] = _cleaned(request)
                check_assignee(organisation, request.member, request.line)
        ensure_not_restricted(organisation, at=at)
        slots = Allocation(
            organisation,
            [(r.member, r.line) for r in requests],
            window=len(requests),
            at=at,
            lock=False,
        )
        sources = Counter(source for _, source in slots.plan(requests))
        for (country, number_type), wanted in Counter(
            (r.country, r.number_type) for r in requests
        ).items():
            found = len(carrier().search(country=country, number_type=number_type, limit=wanted))
            if found < wanted:
                kind = number_type.replace("_", " ")
                raise errors.NumberUnavailable(
                    f"Only {found} {kind} numbers are available in {country}, not {wanted}."
                )
    except (DomainError, ValidationError) as exc:
        return BatchPreview(refusal=exc)
    obtained = sources["purchase"] or sources["restore"]
    return BatchPreview(sources=sources, quote=slots.supply.quote() if obtained else None)


def number_reassign_preview(
    *, number: PhoneNumber, member=None, line=None, at: datetime | None = None
) -> NumberPreview:
    """`number_reassign`'s decisions (rules 5 and 7) read-only: the licence moves with the
    number, or the number takes a slot of the target's licences by rule 2 (maybe a bought one)."""
    at = at or timezone.now()
    organisation = number.organisation
    check_assignee(organisation, member, line)
    try:
        if number.status != NumberStatus.ASSIGNED:
            raise errors.NumberUnavailable("Only an assigned number can be reassigned.")
        if number_holder(number) == (member, line):
            return NumberPreview(
                source="unchanged", licence=number.licence, licence_type=number.licence.licence_type
            )
        licence = number.licence
        if _only_number_on(licence, number):
            ensure_under_plan_cap(organisation, member)
            return NumberPreview(source="moves", licence=licence, licence_type=licence.licence_type)
        slots = Allocation(organisation, [(member, line)], at=at, lock=False)
        pick = slots.choose(member=member, line=line, number_type=number.number_type)
        if pick.source == "purchase":
            ensure_not_restricted(organisation, at=at)
        quote = slots.preview(pick, number.number_type)
    except DomainError as exc:
        return NumberPreview(source="", refusal=exc)
    return NumberPreview(
        source=pick.source, licence=pick.licence, licence_type=pick.licence_type, quote=quote
    )


def number_recover_preview(
    *, number: PhoneNumber, member=None, line=None, at: datetime | None = None
) -> NumberPreview:
    """`number_recover`'s decisions (rules 6, 5, 2, 13 and 1) read-only: who gets the number
    back and through which licence, restored or bought (with its `quote`) when none is free;
    or why it would be refused."""
    at = at or timezone.now()
    organisation = number.organisation
    member, line = recover_target(number, member, line)
    check_assignee(organisation, member, line)
    try:
        ensure_recoverable(number, organisation, at)
        slots = Allocation(organisation, [(member, line)], at=at, lock=False)
        pick = slots.choose(member=member, line=line, number_type=number.number_type)
        quote = slots.preview(pick, number.number_type)
    except DomainError as exc:
        return NumberPreview(source="", refusal=exc)
    return NumberPreview(
        source=pick.source, licence=pick.licence, licence_type=pick.licence_type, quote=quote
    )
