"""A large organisation's lists stay small: no filter lists every member, licence or number
(docs/testing.md; issue "Large organisations stay fast")."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from licensing.models import Licence
from numbering.models import NumberStatus, PhoneNumber
from tests.factories import OrganisationFactory, UserFactory, licence_type

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # 2,000 members: 4-6 s each

MEMBERS = 2_000
LIMIT = 300 * 1024


@pytest.fixture
def large(db):
    """One organisation of 2,000 members, each with a licence and a number (written in bulk:
    the lists are what is tested here, not the services)."""
    organisation = OrganisationFactory(name="Large Ltd")
    owner = UserFactory(
        organisation=organisation, role="owner", email="owner@large.example", name="Olga Owner"
    )
    members = User.objects.bulk_create(
        User(
            organisation=organisation,
            email=f"member{i}@large.example",
            name=f"Member {i:04d}",
            role="user",
            status="active",
            password="!",
        )
        for i in range(MEMBERS)
    )
    standard = licence_type("user_standard")
    at = timezone.make_aware(dt.datetime(2026, 1, 5, 9))
    licences = Licence.objects.bulk_create(
        Licence(organisation=organisation, licence_type=standard, member=m, purchased_at=at)
        for m in members
    )
    PhoneNumber.objects.bulk_create(
        PhoneNumber(
            organisation=organisation,
            e164=f"+3361{i:07d}",
            country="FR",
            number_type="mobile",
            status=NumberStatus.ASSIGNED,
            licence=licence,
            assigned_at=at,
        )
        for i, licence in enumerate(licences)
    )
    return owner, members, licences


@pytest.mark.parametrize(
    "name", ["admin:licensing_licence_changelist", "admin:numbering_phonenumber_changelist"]
)
def test_the_licence_and_number_lists_stay_under_300_kb_with_2000_members(client, large, name):
    owner = large[0]
    client.force_login(owner)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert len(response.content) < LIMIT, len(response.content)
    # No filter lists the members: only the page's own rows name one.
    text = response.content.decode()
    assert sum(f"Member {i:04d}" in text for i in range(MEMBERS)) <= 50


def test_the_member_filter_is_a_search_that_finds_and_chooses_a_member(client, large):
    owner, members, licences = large
    client.force_login(owner)
    url = reverse("admin:numbering_phonenumber_changelist")

    found = client.get(url, {"member_search": "Member 1234"})
    assert found.status_code == 200
    text = found.content.decode()
    assert "Member 1234" in text and f"member={members[1234].pk}" in text

    chosen = client.get(url, {"member": members[1234].pk})
    assert [n.licence_id for n in chosen.context["cl"].result_list] == [licences[1234].pk]
    assert "Member 1234" in chosen.content.decode()  # the chosen member is shown

    by_licence = client.get(
        reverse("admin:licensing_licence_changelist"), {"member__id__exact": members[7].pk}
    )
    assert [lc.pk for lc in by_licence.context["cl"].result_list] == [licences[7].pk]
