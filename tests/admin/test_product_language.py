"""Customers read product language only (issue 13): no rule numbers, error codes or "Refused:".

The console's pages and messages, as an owner and as a finance member, never show `(rule N)`,
"Refused:" or a domain error's code; codes stay in the API (docs/rules.md states the rules).
"""

import datetime as dt
import inspect
import re

import pytest
import time_machine
from django.urls import reverse

from numbering import services as numbering
from numbering.models import PhoneNumber
from telecom import errors
from tests.admin.conftest import SHARE_WORLDS, db_state, messages_of, page_text
from tests.factories import licence_type, stock

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]

CODES = sorted(
    cls.code
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.DomainError)
)
RULE = re.compile(r"\(rules? \d+", re.IGNORECASE)


# The worlds are built at this instant (tests/admin/conftest.py), and every test runs at it.
WORLDS_BUILT_AT = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(WORLDS_BUILT_AT, tick=False):
        yield


def developer_words(text: str) -> list[str]:
    """What a customer must never read on a console page or in a message."""
    found = RULE.findall(text)
    if "Refused:" in text:
        found.append("Refused:")
    found += [code for code in CODES if re.search(rf"\b{re.escape(code)}\b", text)]
    return found


def console_urls(world) -> list[str]:
    number = PhoneNumber.objects.filter(licence=world.assigned).get()
    admin = "admin:"
    return [
        reverse(f"{admin}index"),
        reverse(f"{admin}licensing_licence_changelist"),
        reverse(f"{admin}licensing_licence_change", args=[world.assigned.pk]),
        reverse(f"{admin}licensing_licence_change", args=[world.free.pk]),
        reverse(f"{admin}licensing_licence_change", args=[world.scheduled.pk]),
        reverse(f"{admin}licensing_licence_change", args=[world.phone.pk]),
        reverse(f"{admin}licensing_licence_buy"),
        reverse(f"{admin}licensing_licence_remove"),
        reverse(f"{admin}licensing_licence_addons", args=[world.phone.pk]),
        reverse(f"{admin}licensing_licence_extension", args=[world.phone.pk]),
        reverse(f"{admin}licensing_licence_terminate", args=[world.free.pk]),
        reverse(f"{admin}licensing_licence_terminate_by_uuid"),
        reverse(f"{admin}numbering_phonenumber_changelist"),
        reverse(f"{admin}numbering_phonenumber_change", args=[number.pk]),
        reverse(f"{admin}numbering_phonenumber_assign"),
        reverse(f"{admin}numbering_phonenumber_reassign", args=[number.pk]),
        reverse(f"{admin}numbering_phonenumber_change_number", args=[number.pk]),
        reverse(f"{admin}numbering_phonenumber_delete_number", args=[number.pk]),
        reverse(f"{admin}accounts_user_changelist"),
        reverse(f"{admin}accounts_user_change", args=[world.user.pk]),
        reverse(f"{admin}accounts_user_delete", args=[world.user.pk]),
        reverse(f"{admin}accounts_organisation_change", args=[world.organisation.pk]),
        reverse(f"{admin}billing_invoice_changelist"),
        reverse(f"{admin}billing_invoice_change", args=[world.invoice.pk]),
        reverse(f"{admin}billing_invoice_upcoming"),
        reverse(f"{admin}licensing_line_changelist"),
        reverse(f"{admin}licensing_line_change", args=[world.line.pk]),
        reverse(f"{admin}numbering_portingrequest_changelist"),
        reverse(f"{admin}numbering_portingrequest_add"),
        *people_urls(world),
    ]


def people_urls(world) -> list[str]:
    """The member pages and the activity log (issue 13)."""
    admin = "admin:"
    return [
        reverse(f"{admin}accounts_user_add"),
        reverse(f"{admin}accounts_user_resend", args=[world.user.pk]),
        reverse(f"{admin}accounts_user_reactivate", args=[world.user.pk]),
        reverse(f"{admin}accounts_user_give_licence", args=[world.admin.pk]),
        reverse(f"{admin}accounts_auditevent_changelist"),
        reverse(f"{admin}accounts_auditevent_changelist") + "?target_type__exact=licence",
    ]


def test_member_pages_and_activity_log_show_no_catalogue_codes_or_json(client, world_a):
    from licensing.models import LicenceType

    codes = list(LicenceType.objects.values_list("code", flat=True))
    client.force_login(world_a.owner)
    for url in [
        reverse("admin:accounts_user_change", args=[world_a.user.pk]),
        *people_urls(world_a),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        text = page_text(response)
        if 'id="result_list"' in text:  # the list's own rows, not its raw filters
            text = text.split('id="result_list"')[1].split("</table>")[0]
        else:
            text = text.split('id="content"')[1]
        text = re.sub(r"<script.*?</script>", " ", text, flags=re.DOTALL)
        text = re.sub(r"<[^>]+>", " ", text)  # what people read, not the markup's attributes
        assert developer_words(text) == [], url
        assert [c for c in codes if re.search(rf"\b{c}\b", text)] == [], url
        assert '{"' not in text and "{&quot;" not in text, url


@pytest.mark.parametrize("role", ["owner", "finance"])
def test_console_pages_speak_product_language(client, world_a, role):
    client.force_login(getattr(world_a, role))
    shown = 0
    for url in console_urls(world_a):
        response = client.get(url)
        assert response.status_code in (200, 302, 403), url
        if response.status_code == 200:
            shown += 1
        text = page_text(response) + " ".join(messages_of(response))
        assert developer_words(text) == [], url
    assert shown >= 5  # the finance member reads at least the dashboard and the invoices


def test_refusals_are_sentences_without_codes_or_rules(client, world_a):
    client.force_login(world_a.owner)
    before = db_state()
    # Two user licences are unassigned at most; asking to remove 5 is refused.
    remove = client.post(
        reverse("admin:licensing_licence_remove"),
        {"licence_type": licence_type("user_standard").pk, "quantity": "5", "_confirm": "1"},
    )
    # An assigned licence cannot be terminated.
    terminate = client.post(
        reverse("admin:licensing_licence_terminate", args=[world_a.assigned.pk])
    )
    assert db_state() == before
    number = PhoneNumber.objects.filter(licence=world_a.assigned).get()
    stock("FR", "mobile", 10, start=100)
    for _ in range(world_a.assigned.licence_type.max_number_changes):
        number = numbering.number_change(number=number, actor=world_a.owner)
    change_page = client.get(reverse("admin:numbering_phonenumber_change_number", args=[number.pk]))
    change = client.post(reverse("admin:numbering_phonenumber_change_number", args=[number.pk]), {})

    refusals = messages_of(remove) + messages_of(terminate) + messages_of(change)
    assert (
        "Only 1 User licence is unassigned; you asked to remove 5. Nothing was scheduled."
        in refusals
    )
    assert "This licence is assigned or holds numbers; unassign it first." in refusals
    limit = world_a.assigned.licence_type.max_number_changes
    assert f"This licence has used its {limit} number changes." in refusals
    assert f"has used all {limit} of its number changes" in page_text(change_page)
    for response in (remove, terminate, change, change_page):
        text = page_text(response) + " ".join(messages_of(response))
        assert developer_words(text) == []
    assert developer_words(" ".join(refusals)) == []


def test_money_reviews_speak_product_language(client, world_a):
    """The priced reviews (porting, add-ons, buy, assign, recover) and the licence pages: no
    rule numbers, codes or JSON; the reviews write nothing."""
    client.force_login(world_a.owner)
    number = PhoneNumber.objects.filter(licence=world_a.assigned).get()
    before = db_state()
    reviews = [
        client.post(
            reverse("admin:numbering_portingrequest_add"),
            {
                "e164": "+33612345678",
                "type": "mobile",
                "member": str(world_a.admin.pk),
                "porting_date": "2026-11-20",
                "rio": "02P000001K9X",
            },
        ),
        client.post(
            reverse("admin:licensing_licence_addons", args=[world_a.phone.pk]),
            {"codes": ["team_chat"]},
        ),
        client.post(
            reverse("admin:licensing_licence_addons", args=[world_a.phone.pk]), {"codes": []}
        ),
        client.post(
            reverse("admin:licensing_licence_buy"),
            {"licence_type": licence_type("user_standard").pk, "quantity": "1"},
        ),
        client.get(reverse("admin:licensing_licence_assign", args=[world_a.assigned.pk])),
        client.get(reverse("admin:licensing_licence_change", args=[world_a.assigned.pk])),
        client.get(reverse("admin:numbering_phonenumber_change", args=[number.pk])),
    ]
    assert db_state() == before
    for response in reviews:
        assert response.status_code == 200
        text = page_text(response) + " ".join(messages_of(response))
        assert developer_words(text) == []
        assert '{"' not in re.sub(r"<script.*?</script>", "", text, flags=re.S)
    assert 'id="porting-review"' in page_text(reviews[0])
    assert 'id="addons-review"' in page_text(reviews[1])
