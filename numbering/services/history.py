"""Who held a number when (`NumberAssignment`): opened and closed as numbers and licences move
(rules 7 and 9)."""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from licensing.models import Licence
from numbering.models import (
    NumberAssignment,
    PhoneNumber,
)


def history_open(number: PhoneNumber, licence: Licence, at: datetime) -> None:
    _history_row(number, licence, at).save(force_insert=True)


def _history_row(number: PhoneNumber, licence: Licence, at: datetime) -> NumberAssignment:
    owner = licence.base_licence if licence.base_licence_id else licence
    return NumberAssignment(
        number=number,
        organisation_id=number.organisation_id,
        licence=licence,
        member_id=owner.member_id,
        line_id=owner.line_id,
        started_at=at,
    )


def _close_history(number: PhoneNumber, at: datetime) -> None:
    NumberAssignment.objects.filter(number=number, ended_at__isnull=True).update(ended_at=at)


def history_follow_licence(*, licence: Licence, at: datetime | None = None) -> None:
    """The licence's assignee changed: its numbers' history moves with it (rules 7 and 9)."""
    at = at or timezone.now()
    numbers = list(
        PhoneNumber.objects.held().filter(Q(licence=licence) | Q(licence__base_licence=licence))
    )
    for number in numbers:
        _close_history(number, at)
        history_open(number, number.licence, at)
