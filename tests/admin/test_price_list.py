"""The price list (issue 13): prices in the organisation's currency and frequency, capacities in
words, no catalogue codes and no JSON."""

import pytest
from django.urls import reverse

from accounts.models import Organisation
from licensing.models import LicenceType, capacity_in_words
from tests.admin.conftest import page_text

pytestmark = pytest.mark.django_db


def test_capacity_in_words():
    assert capacity_in_words({"landline": 1, "mobile": 3}) == "1 landline and 3 mobiles"
    assert capacity_in_words({"any": 1}) == "1 number of any type"
    assert capacity_in_words({}) == "No numbers"
    assert capacity_in_words({"mobile": 1, "landline": 2, "toll_free": 1}) == (
        "1 mobile, 2 landlines and 1 toll-free number"
    )


def _table(response) -> str:
    return page_text(response).split('id="result_list"')[1].split("</table>")[0]


def test_the_price_list_is_in_the_organisations_currency_and_frequency(client, world_a):
    user = LicenceType.objects.get(code="user_standard")
    price = user.prices.get(currency=world_a.organisation.currency)
    client.force_login(world_a.owner)
    table = _table(client.get(reverse("admin:licensing_licencetype_changelist")))
    assert f"{price.monthly} {world_a.organisation.currency} a month" in table
    assert "1 number of any type" in table
    assert "user_standard" not in table and '{"' not in table and "{&quot;" not in table

    Organisation.objects.filter(pk=world_a.organisation.pk).update(billing_frequency="yearly")
    table = _table(client.get(reverse("admin:licensing_licencetype_changelist")))
    assert f"{price.yearly} {world_a.organisation.currency} a year" in table

    page = page_text(client.get(reverse("admin:licensing_licencetype_change", args=[user.pk])))
    content = page.split('id="content"')[1]
    assert f"{price.yearly} {world_a.organisation.currency} a year" in content
    assert "1 number of any type" in content
    assert '{"any"' not in content and "{&quot;any" not in content
