"""Home: my numbers, my licences and add-ons, my extension; the console link by role."""

import pytest
from django.urls import reverse

from licensing import services as licensing_services
from numbering.services import number_assign
from tests.factories import UserFactory, licence_type
from tests.webapp.conftest import give_number, received

pytestmark = pytest.mark.django_db


def test_home_lists_my_numbers_formatted_with_country_type_and_capabilities(
    signed_in, mobile, landline
):
    response = signed_in.get(reverse("webapp:home"))

    assert response.status_code == 200
    assert [n.pk for n in response.context["numbers"]] == [mobile.pk, landline.pk]
    html = response.content.decode()
    assert str(mobile) in html and str(landline) in html  # "+33 6 .." formatted for people
    assert mobile.e164 not in html.replace(f'data-number="{mobile.e164}"', "")
    assert html.count("France") >= 2
    assert "Mobile" in html and "Landline" in html
    mobile_card = html.split(f'data-number="{mobile.e164}"')[1].split("</li>\n    \n")[0]
    assert 'class="pill on" data-capability="sms"' in mobile_card
    assert 'class="pill on" data-capability="mms"' in mobile_card
    landline_card = html.split(f'data-number="{landline.e164}"')[1].split("</li>\n    \n")[0]
    assert 'class="pill on" data-capability="voice"' in landline_card
    assert 'class="pill off" data-capability="sms"' in landline_card
    assert "Send a text" in mobile_card and "Send a text" not in landline_card


def test_home_shows_my_licence_types_add_ons_and_extension(client, organisation, owner, inventory):
    member = UserFactory(organisation=organisation, email="ext@org-a.example")
    licence = number_assign(
        organisation=organisation,
        actor=owner,
        country="FR",
        number_type="landline",
        member=member,
        licence_type=licence_type("phone_system"),
    ).licence
    licensing_services.licence_set_extension(licence=licence, extension="204", actor=owner)
    licensing_services.licence_set_addons(
        licence=licence, codes=["call_recording", "device_ip_phone"], actor=owner
    )
    client.force_login(member)

    response = client.get(reverse("webapp:home"))

    html = response.content.decode()
    assert response.context["extensions"] == ["204"]
    assert "extension 204" in html
    assert "Phone system" in html
    assert "Call recording" in html
    assert "IP phone" in html


def test_home_never_shows_a_colleagues_numbers(signed_in, colleague_mobile):
    response = signed_in.get(reverse("webapp:home"))

    assert colleague_mobile.pk not in [n.pk for n in response.context["numbers"]]
    assert str(colleague_mobile) not in response.content.decode()


@pytest.mark.parametrize(
    ("role", "sees_console"),
    [
        ("owner", True),
        ("admin", True),
        ("finance", True),
        ("user", False),
    ],
)
def test_the_admin_console_link_is_shown_to_owners_admins_and_finance_only(
    client, organisation, role, sees_console
):
    client.force_login(UserFactory(organisation=organisation, role=role))

    html = client.get(reverse("webapp:home")).content.decode()

    assert (f'href="{reverse("admin:index")}"' in html) is sees_console


def test_home_counts_this_weeks_activity(signed_in, mobile):
    received(mobile)
    received(mobile, minutes_ago=60 * 24 * 8)  # older than a week

    response = signed_in.get(reverse("webapp:home"))

    assert response.context["summary"] == {"messages": 1, "calls": 0, "voicemails": 0}


def test_home_query_count_does_not_grow_with_numbers(
    signed_in, member, owner, django_assert_max_num_queries
):
    for _ in range(3):
        give_number(member, "mobile", actor=owner)

    with django_assert_max_num_queries(14):
        signed_in.get(reverse("webapp:home"))
