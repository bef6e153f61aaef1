"""The members list and "who holds this number" read through indexes (a UNION of two lookups,
pages read as ids first) and answer exactly what the former queries answered: same rows, same
order, same counts."""

import pytest
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from numbering.models import NumberStatus, PhoneNumber
from numbering.selectors import number_list, numbers_held_by
from tests.factories import (
    LicenceFactory,
    LineFactory,
    OrganisationFactory,
    UserFactory,
    licence_type,
    token_for,
)

pytestmark = pytest.mark.django_db


def old_number_count(queryset):
    """The former annotation: one count with an OR across the licence and its base licence."""
    held = (
        PhoneNumber.objects.held()
        .filter(Q(licence__member=OuterRef("pk")) | Q(licence__base_licence__member=OuterRef("pk")))
        .order_by()
        .values("organisation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(
        number_count=Coalesce(Subquery(held, output_field=IntegerField()), Value(0))
    )


def old_held_by(*, member=None, line=None):
    if member is not None:
        holder = Q(licence__member=member) | Q(licence__base_licence__member=member)
    else:
        holder = Q(licence__line=line) | Q(licence__base_licence__line=line)
    return PhoneNumber.objects.held().filter(holder)


@pytest.fixture
def small_world(db):
    """Two organisations; members holding numbers on their licences, on add-ons of those, on
    both, none; quarantined and released numbers that count for nobody; a line with numbers."""
    worlds = []
    serial = iter(range(1000))
    for name in ("One", "Two"):
        organisation = OrganisationFactory(name=name)
        owner = UserFactory(organisation=organisation, role="owner", name=f"{name} owner")
        line = LineFactory(organisation=organisation)
        members = [owner]
        for i in range(7):
            # Names repeat, so that the order falls to the e-mail.
            members.append(UserFactory(organisation=organisation, role="user", name=f"M{i % 3}"))

        def number(licence, status=NumberStatus.ASSIGNED, organisation=organisation):
            held = status in (NumberStatus.ASSIGNED, NumberStatus.PORTING)
            return PhoneNumber.objects.create(
                organisation=organisation,
                e164=f"+3361{next(serial):07d}",
                country="FR",
                number_type="mobile",
                status=status,
                licence=licence if held else None,
                quarantine_ends_on="2030-01-01" if status == NumberStatus.QUARANTINED else None,
            )

        for i, member in enumerate(members):
            base = LicenceFactory(
                organisation=organisation, licence_type=licence_type("phone_system"), member=member
            )
            if i % 2:
                number(base)
            if i % 3:
                addon = LicenceFactory(
                    organisation=organisation,
                    licence_type=licence_type("call_recording"),
                    base_licence=base,
                )
                number(addon)
                number(addon, NumberStatus.PORTING)
            if i == 4:
                number(base, NumberStatus.QUARANTINED)
                number(base, NumberStatus.RELEASED)
        room = LicenceFactory(
            organisation=organisation, licence_type=licence_type("room_phone"), line=line
        )
        number(room)
        worlds.append((organisation, owner, line, members))
    return worlds


def test_member_number_counts_are_those_of_the_former_query(small_world):
    from numbering.selectors import member_list_detailed

    for organisation, *_ in small_world:
        new = member_list_detailed(organisation=organisation)
        old = old_number_count(User.objects.filter(organisation=organisation, is_superuser=False))
        assert [(m.pk, m.number_count) for m in new] == [(m.pk, m.number_count) for m in old]
        assert {m.number_count for m in new} >= {0, 1, 2, 3}


@pytest.mark.parametrize("page_size", [3, 50])
def test_the_api_members_pages_list_the_former_rows_in_the_former_order(
    client, small_world, page_size
):
    organisation, owner, _, _ = small_world[0]
    expected = [
        (str(m.pk), m.number_count)
        for m in old_number_count(
            User.objects.filter(organisation=organisation, is_superuser=False)
        ).order_by("name", "email")
    ]
    headers = {"HTTP_AUTHORIZATION": f"Token {token_for(owner)}"}
    listed, page = [], 1
    while True:
        body = client.get(
            "/api/v1/members/", {"page_size": page_size, "page": page}, **headers
        ).json()
        listed += [(row["id"], row["number_count"]) for row in body["results"]]
        assert body["count"] == len(expected)
        if not body["next"]:
            break
        page += 1
    assert listed == expected
    # Filters and search still narrow the pages.
    users = client.get("/api/v1/members/", {"role": "user", "search": "M1"}, **headers).json()
    assert [r["id"] for r in users["results"]] == [
        str(pk)
        for pk in User.objects.filter(organisation=organisation, role="user", name__icontains="M1")
        .order_by("name", "email")
        .values_list("pk", flat=True)
    ]


def test_numbers_held_by_a_member_or_a_line_are_those_of_the_former_query(small_world):
    for organisation, _, line, members in small_world:
        for member in members:
            assert list(numbers_held_by(member=member).order_by("e164")) == list(
                old_held_by(member=member).order_by("e164")
            )
            assert list(number_list(organisation=organisation, member=member)) == list(
                number_list(organisation=organisation).filter(
                    Q(licence__member=member) | Q(licence__base_licence__member=member)
                )
            )
        assert list(numbers_held_by(line=line)) == list(old_held_by(line=line))
        assert numbers_held_by(line=line).count() == 1


def test_the_api_numbers_filtered_by_member_are_the_former_rows(client, small_world):
    organisation, owner, line, members = small_world[0]
    headers = {"HTTP_AUTHORIZATION": f"Token {token_for(owner)}"}
    for member in members:
        body = client.get("/api/v1/numbers/", {"member": member.pk}, **headers).json()
        expected = (
            number_list(organisation=organisation)
            .filter(Q(licence__member=member) | Q(licence__base_licence__member=member))
            .values_list("pk", flat=True)
        )
        assert [row["id"] for row in body["results"]] == [str(pk) for pk in expected]
    by_line = client.get("/api/v1/numbers/", {"line": line.pk}, **headers).json()
    assert len(by_line["results"]) == 1
