"""Calls: the member's call history from usage records, filtered by number, direction, dates."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from billing.models import UsageKind, UsageRecord
from billing.usage import usage_record
from tests.webapp.conftest import call, received

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _pinned_clock():
    """Usage may not start in the future: "today at 09:00" is in the past at 14:00."""
    with time_machine.travel(dt.datetime(2026, 6, 17, 14, 0, tzinfo=PARIS), tick=False):
        yield


@pytest.fixture
def history(mobile, landline, colleague_mobile, outsider_mobile):
    today = dt.datetime.now(PARIS).replace(hour=9, minute=0, second=0, microsecond=0)
    rows = {
        "out_mobile": call(mobile, direction="outbound", when=today - dt.timedelta(days=1)),
        "in_mobile": call(mobile, direction="inbound", when=today - dt.timedelta(days=3)),
        "out_landline": call(landline, direction="outbound", when=today - dt.timedelta(days=5)),
        "colleague": call(colleague_mobile, when=today - dt.timedelta(days=1)),
        "outsider": call(outsider_mobile, when=today - dt.timedelta(days=1)),
    }
    usage_record(  # an SMS is usage too, but not a call
        number=mobile,
        kind=UsageKind.SMS,
        direction="outbound",
        started_at=today - dt.timedelta(hours=2),
        cost=rows["out_mobile"].cost,
        destination="+33698765432",
    )
    rows["today"] = today
    return rows


def listed(response) -> list:
    return [row.pk for row in response.context["page"].object_list]


def test_call_history_lists_my_calls_newest_first(signed_in, history):
    response = signed_in.get(reverse("webapp:calls"))

    assert response.status_code == 200
    assert listed(response) == [
        history["out_mobile"].pk,
        history["in_mobile"].pk,
        history["out_landline"].pk,
    ]
    html = response.content.decode()
    assert "+33 1 45 67 89 01" in html
    assert "Outgoing" in html and "Incoming" in html
    assert "1 min 00 s" in html


def test_call_history_filters_by_number(signed_in, history, landline):
    response = signed_in.get(reverse("webapp:calls"), {"number": str(landline.pk)})

    assert listed(response) == [history["out_landline"].pk]


def test_call_history_filters_by_direction(signed_in, history):
    response = signed_in.get(reverse("webapp:calls"), {"direction": "inbound"})

    assert listed(response) == [history["in_mobile"].pk]


def test_call_history_filters_by_dates_in_my_time_zone(signed_in, history):
    today = history["today"].date()
    response = signed_in.get(
        reverse("webapp:calls"),
        {
            "started_from": (today - dt.timedelta(days=4)).isoformat(),
            "started_to": (today - dt.timedelta(days=2)).isoformat(),
        },
    )

    assert listed(response) == [history["in_mobile"].pk]
    assert "1 call matches the filters" in response.content.decode()


def test_a_colleagues_number_is_not_a_filter_choice(signed_in, history, colleague_mobile):
    response = signed_in.get(reverse("webapp:calls"), {"number": str(colleague_mobile.pk)})

    assert listed(response) == []
    assert "number" in response.context["filter"].errors


def test_filtering_with_htmx_returns_the_results_only(signed_in, history):
    response = signed_in.get(
        reverse("webapp:calls"), {"direction": "outbound"}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert html.startswith('<div id="call-results"')
    assert listed(response) == [history["out_mobile"].pk, history["out_landline"].pk]


def test_a_call_page_shows_its_details(signed_in, history):
    response = signed_in.get(reverse("webapp:call", args=[history["in_mobile"].pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Call from" in html and "+33 1 45 67 89 01" in html and "0.10 EUR" in html


@pytest.mark.parametrize("whose", ["colleague", "outsider"])
def test_another_members_call_is_a_404(signed_in, history, whose):
    response = signed_in.get(reverse("webapp:call", args=[history[whose].pk]))

    assert response.status_code == 404


def test_an_sms_usage_record_is_not_a_call(signed_in, history):
    sms = UsageRecord.objects.get(kind=UsageKind.SMS)

    assert signed_in.get(reverse("webapp:call", args=[sms.pk])).status_code == 404


def test_call_history_paginates_and_keeps_the_filters(signed_in, mobile, settings):
    for n in range(27):
        call(mobile, direction="inbound", seconds=n + 1)

    first = signed_in.get(reverse("webapp:calls"), {"direction": "inbound"})
    second = signed_in.get(reverse("webapp:calls"), {"direction": "inbound", "page": 2})

    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 2
    assert "direction=inbound&amp;page=2" in first.content.decode()


def test_call_history_query_count_does_not_grow_with_rows(
    signed_in, mobile, django_assert_max_num_queries
):
    for _ in range(10):
        call(mobile)
    received(mobile)

    with django_assert_max_num_queries(10):
        signed_in.get(reverse("webapp:calls"))
