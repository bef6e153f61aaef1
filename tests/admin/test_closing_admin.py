"""Closing an organisation from the console (rule 19): the owner requests it on the organisation's
page, platform staff close it after a page saying what will happen; B never reaches A's pages."""

import pytest
from django.urls import reverse

from accounts.models import MemberStatus
from numbering.models import PortingStatus
from tests.admin.conftest import SHARE_WORLDS, messages_of, page_text

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]


def url(view, org):
    return reverse(f"admin:accounts_organisation_{view}", args=[org.pk])


def test_owner_requests_closing_after_a_confirmation(client, world_a):
    org = world_a.organisation
    client.force_login(world_a.owner)
    page = client.get(url("change", org))
    assert url("request_closing", org) in page_text(page)
    assert url("close", org) not in page_text(page)

    confirm = client.get(url("request_closing", org))
    assert confirm.status_code == 200
    assert "Yes, request closing" in page_text(confirm)
    org.refresh_from_db()
    assert org.close_requested_at is None

    response = client.post(url("request_closing", org))
    assert response.status_code == 302 and response.url == url("change", org)
    org.refresh_from_db()
    assert org.close_requested_at is not None and org.closed_at is None
    assert any("Closing requested" in m for m in messages_of(response))


@pytest.mark.parametrize("role", ["admin", "finance"])
def test_admin_and_finance_cannot_request_closing(client, world_a, role):
    org = world_a.organisation
    client.force_login(getattr(world_a, role))
    page = client.get(url("change", org))
    assert url("request_closing", org) not in page_text(page)
    assert client.get(url("request_closing", org)).status_code == 403
    assert client.post(url("request_closing", org)).status_code == 403
    org.refresh_from_db()
    assert org.close_requested_at is None


def test_staff_close_a_requested_organisation_after_a_confirmation(client, world_a, staff):
    org = world_a.organisation
    client.force_login(staff)
    assert url("close", org) not in page_text(client.get(url("change", org)))
    assert client.get(url("close", org)).status_code == 403  # not requested yet

    client.force_login(world_a.owner)
    client.post(url("request_closing", org))
    client.force_login(staff)
    assert url("close", org) in page_text(client.get(url("change", org)))
    confirm = client.get(url("close", org))
    assert confirm.status_code == 200
    assert "quarantine" in page_text(confirm)
    org.refresh_from_db()
    assert org.closed_at is None

    response = client.post(url("close", org))
    assert response.status_code == 302 and response.url == url("change", org)
    assert any("closed" in m for m in messages_of(response))
    org.refresh_from_db()
    assert org.closed_at is not None
    world_a.user.refresh_from_db()
    assert world_a.user.status == MemberStatus.DEACTIVATED
    world_a.porting.refresh_from_db()
    assert world_a.porting.status == PortingStatus.CANCELLED


@pytest.mark.parametrize("view", ["request_closing", "close"])
def test_b_cannot_reach_a_closing_pages(client, world_a, world_b, view):
    org = world_a.organisation
    client.force_login(world_b.owner)
    for response in (client.get(url(view, org)), client.post(url(view, org))):
        assert response.status_code == 302
        assert response.url == reverse("admin:index")
    org.refresh_from_db()
    assert org.close_requested_at is None and org.closed_at is None
