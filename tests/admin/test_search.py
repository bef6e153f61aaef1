"""The console's search (issue 13): numbers as people type them, a member's licences and numbers
from their name, invoices by number; nothing of another organisation."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from numbering.models import PhoneNumber
from numbering.selectors import number_digit_variants
from tests.admin.conftest import SHARE_WORLDS, page_text

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]


# The worlds are built at this instant (tests/admin/conftest.py), and every test runs at it.
WORLDS_BUILT_AT = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(WORLDS_BUILT_AT, tick=False):
        yield


def _search(client, term):
    response = client.get(reverse("admin:search"), {"q": term})
    assert response.status_code == 200
    return response


def test_digit_variants():
    assert number_digit_variants("06 20 00 00 02") == ["0620000002", "620000002"]
    assert number_digit_variants("+33 6 20") == ["33620"]
    assert number_digit_variants("0033 6 20") == ["0033620", "33620"]
    assert number_digit_variants("Alice") == []


def test_numbers_are_found_as_people_type_them(client, world_a, world_b):
    number = PhoneNumber.objects.get(licence=world_a.assigned)
    national = "0" + number.e164[3:]  # +33612345678 -> 0612345678
    spaced = " ".join([national[:2], *(national[i : i + 2] for i in range(2, 10, 2))])
    international = f"+33 {number.e164[3]} {number.e164[4:6]}"
    client.force_login(world_a.owner)
    for term in (spaced, national, international, number.e164):
        numbers = _search(client, term).context["numbers"]
        assert number.pk in {n.pk for n in numbers}, term
        assert all(n.organisation_id == world_a.organisation.pk for n in numbers), term


def test_a_members_licences_and_numbers_are_found_from_their_name(client, world_a, world_b):
    client.force_login(world_a.owner)
    response = _search(client, "zorblax-user")
    licences = {licence.pk for licence in response.context["licences"]}
    assert {world_a.assigned.pk, world_a.phone.pk} <= licences
    numbers = {n.pk for n in response.context["numbers"]}
    assert PhoneNumber.objects.get(licence=world_a.assigned).pk in numbers
    text = page_text(response)
    assert f"User licence · {str(world_a.assigned.pk)[:8]}" in text
    # B's member of the same kind is not A's to find
    assert not _search(client, "quimby-user").context["licences"]
    assert not _search(client, "quimby-user").context["numbers"]


def test_invoices_are_found_by_number(client, world_a, world_b):
    client.force_login(world_a.finance)
    response = _search(client, world_a.invoice.number)
    assert [i.pk for i in response.context["invoices"]] == [world_a.invoice.pk]
    assert not _search(client, world_b.invoice.number).context["invoices"]
