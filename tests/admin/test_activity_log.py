"""The activity log (issue 13): who did what, in sentences; filtered by member, object and dates;
exported as CSV with what is filtered, safe to open in a spreadsheet."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse

from accounts import services as accounts_services
from accounts.admin.audit import sentence
from accounts.models import AuditEvent
from licensing import services as licensing
from tests.admin.conftest import SHARE_WORLDS, page_text
from tests.factories import licence_type

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]

URL = "admin:accounts_auditevent_changelist"
# The worlds are built at this instant (tests/admin/conftest.py), and every test runs at it.
WORLDS_BUILT_AT = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(WORLDS_BUILT_AT, tick=False):
        yield


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_events_read_as_sentences(world_a):
    names = {"user_standard": "User", "phone_system": "Phone system"}
    bought = AuditEvent.objects.get(action="licence.purchased", target_id=str(world_a.free.pk))
    assert sentence(bought, names) == (
        f"zorblax-owner bought User licence · {str(bought.target_id)[:8]} on invoice "
        f"{bought.changes['invoice']}."
    )
    number = AuditEvent.objects.get(action="number.assigned", organisation=world_a.organisation)
    assert sentence(number, names).startswith("zorblax-owner assigned the number +33 ")
    assert sentence(number, names).endswith(" to zorblax-user.")
    unknown = AuditEvent(actor_label="", action="widget.polished", target_type="widget")
    unknown.target_label = "W1"
    assert sentence(unknown, names) == "The system polished: widget W1."


def test_the_log_is_named_for_people_and_shows_sentences(client, world_a):
    client.force_login(world_a.owner)
    index = page_text(client.get(reverse("admin:index")))
    assert "Activity log" in index and "Audit events" not in index
    assert "Members" in index
    text = page_text(client.get(reverse(URL)))
    assert "zorblax-owner bought User licence · " in text
    table = text.split('id="result_list"')[1].split("</table>")[0]
    assert "licence.purchased" not in table and "user_standard" not in table


def test_filter_by_member_object_and_dates(client, world_a, world_b):
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        accounts_services.member_update(member=world_a.user, actor=world_a.admin, name="Renamed")
    client.force_login(world_a.owner)
    rows = client.get(reverse(URL), {"actor__id__exact": str(world_a.admin.pk)}).context["cl"]
    assert [e.action for e in rows.result_list] == ["member.updated"]
    rows = client.get(reverse(URL), {"target_type__exact": "invoice"}).context["cl"].result_list
    assert rows and {e.target_type for e in rows} == {"invoice"}
    later = client.get(reverse(URL), {"created_at__date__gte": "2026-11-15"}).context["cl"]
    assert [e.action for e in later.result_list] == ["member.updated"]
    earlier = client.get(reverse(URL), {"created_at__date__lte": "2026-11-15"}).context["cl"]
    assert "member.updated" not in {e.action for e in earlier.result_list}
    # another organisation's member filters nothing in, never B's events
    other = client.get(reverse(URL), {"actor__id__exact": str(world_b.owner.pk)}).context["cl"]
    assert list(other.result_list) == []
    page = page_text(client.get(reverse(URL)))
    assert "quimby" not in page


def test_csv_export_has_what_is_filtered_and_is_formula_safe(client, world_a, world_b):
    licensing.licences_purchase(
        organisation=world_a.organisation,
        licence_type=licence_type("user_standard"),
        quantity=1,
        actor=world_a.owner,
    )
    accounts_services.member_update(member=world_a.admin, actor=world_a.owner, name="=cmd|calc")
    world_a.admin.refresh_from_db()
    accounts_services.member_update(member=world_a.user, actor=world_a.admin, name="Renamed")
    client.force_login(world_a.owner)

    response = client.get(
        reverse("admin:accounts_auditevent_export"), {"target_type__exact": "user"}
    )

    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert rows[0] == ["When", "Member", "What happened", "Object", "Action"]
    assert rows[1:] and {row[3] for row in rows[1:]} == {"Member"}
    body = "\n".join(",".join(r) for r in rows)
    assert "quimby" not in body
    assert "'=cmd|calc" in {row[1] for row in rows}
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_finance_and_other_roles_cannot_export_another_organisation(client, world_a, world_b):
    client.force_login(world_b.owner)
    rows = _csv(client.get(reverse("admin:accounts_auditevent_export")))
    assert rows[1:]
    assert "zorblax" not in "\n".join(",".join(r) for r in rows)


def test_the_filter_forms_blank_fields_mean_all(client, world_a):
    client.force_login(world_a.owner)
    response = client.get(
        reverse(URL),
        {"actor__id__exact": "", "target_type__exact": "invoice", "created_at__date__gte": ""},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?target_type__exact=invoice")
    rows = client.get(response["Location"]).context["cl"].result_list
    assert rows and {e.target_type for e in rows} == {"invoice"}
