"""Number races on PostgreSQL with real concurrent connections (one per thread)."""

from collections import Counter

import pytest

from licensing.models import Licence
from numbering import services
from numbering.models import InventoryNumber, PhoneNumber
from numbering.selectors import numbers_held_by
from telecom import errors
from tests.concurrency import run_concurrently
from tests.factories import LicenceFactory, OrganisationFactory, UserFactory, stock

race = pytest.mark.django_db(transaction=True)


def outcome(result) -> str:
    return type(result).__name__


@race
def test_thirty_assignments_to_one_member_stop_exactly_at_the_plan_cap():
    org = OrganisationFactory(plan="connect")  # 5 numbers per member
    owner = UserFactory(organisation=org, role="owner")
    member = UserFactory(organisation=org)
    stock("FR", "mobile", 40)

    results = run_concurrently(
        [
            lambda: services.number_assign(
                organisation=org, actor=owner, country="FR", number_type="mobile", member=member
            )
            for _ in range(30)
        ]
    )

    assert Counter(map(outcome, results)) == {"AssignResult": 5, "PlanNumberLimitReached": 25}
    assert numbers_held_by(member=member).count() == 5
    assert InventoryNumber.objects.count() == 35  # refused ones took nothing


@race
def test_thirty_organisations_share_a_ten_number_inventory_without_duplicates():
    stock("GB", "mobile", 10)
    orgs = [OrganisationFactory() for _ in range(30)]
    pairs = [(o, UserFactory(organisation=o, role="owner")) for o in orgs]

    results = run_concurrently(
        [
            lambda o=o, u=u: services.number_assign(
                organisation=o, actor=u, country="GB", number_type="mobile", member=u
            )
            for o, u in pairs
        ]
    )

    assert Counter(map(outcome, results)) == {"AssignResult": 10, "NumberUnavailable": 20}
    e164s = list(PhoneNumber.objects.values_list("e164", flat=True))
    assert len(e164s) == len(set(e164s)) == 10
    assert not InventoryNumber.objects.exists()
    # A refused organisation bought nothing either: the purchase rolled back with the refusal.
    assert Licence.objects.count() == 10


@race
def test_thirty_concurrent_changes_never_exceed_the_change_limit():
    org = OrganisationFactory()
    owner = UserFactory(organisation=org, role="owner")
    member = UserFactory(organisation=org)
    stock("FR", "mobile", 40)
    licence = LicenceFactory(organisation=org, member=member)
    number = services.number_assign(
        organisation=org,
        actor=owner,
        country="FR",
        number_type="mobile",
        member=member,
        licence=licence,
    ).number

    def change():
        # Like a client: change the licence's current number; if another client changed it
        # first (NumberUnavailable: ours went to quarantine), read it again and retry.
        for _ in range(60):
            current = PhoneNumber.objects.get(licence=licence, status="assigned")
            try:
                return services.number_change(number=current, actor=owner)
            except errors.NumberUnavailable:
                continue
        raise AssertionError("no outcome after 60 tries")

    results = run_concurrently([change for _ in range(30)])

    outcomes = Counter(map(outcome, results))
    assert outcomes == {"PhoneNumber": 5, "NumberChangeLimitReached": 25}
    licence.refresh_from_db()
    assert licence.number_changes_used == 5
    assert PhoneNumber.objects.filter(licence=licence, status="assigned").count() == 1
    assert number.pk != PhoneNumber.objects.get(licence=licence, status="assigned").pk
    assert all(isinstance(r, (PhoneNumber, errors.DomainError)) for r in results)
