"""Available numbers read as elsewhere in the console (issue 13): "+33 6 20 00 00 03"."""

import datetime as dt

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse

from numbering.models import InventoryNumber
from tests.admin.conftest import page_text
from tests.factories import stock

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


def test_the_phone_filter():
    template = Template("{% load numbers %}{{ a|phone }}|{{ b|phone }}|{{ c|phone }}")
    assert template.render(Context({"a": "+33620000003", "b": "", "c": "BANK"})) == (
        "+33 6 20 00 00 03||BANK"
    )


def test_the_assign_review_lists_available_numbers_formatted(client, world_a):
    stock("FR", "mobile", 3, start=500)
    e164 = InventoryNumber.objects.filter(country="FR", number_type="mobile").order_by("e164")[0]
    client.force_login(world_a.owner)
    response = client.post(
        reverse("admin:numbering_phonenumber_assign"),
        {"member": world_a.admin.pk, "country": "FR", "number_type": "mobile", "_review": "1"},
    )
    text = page_text(response)
    assert 'id="available-numbers"' in text
    formatted = f"+33 {e164.e164[3]} {e164.e164[4:6]} {e164.e164[6:8]}"
    assert formatted in text
    list_text = text.split('id="available-numbers"')[1].split("</ul>")[0]
    assert f"> {e164.e164} " not in list_text and f"({e164.e164})" not in list_text
