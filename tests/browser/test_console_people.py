"""The console's people pages in a real browser (issue 13): resend an invitation, reactivate a
removed member, the activity log, and the lists at 1366 px without clipped columns.
Screenshots go to artifacts/screenshots/."""

import re

import pytest

from accounts import lifecycle
from accounts import services as accounts_services
from accounts.models import MemberStatus
from tests.admin.conftest import build_world
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "console-password-1"
WIDE = {"width": 1366, "height": 900}


@pytest.fixture
def world(live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build_world("zorblax", "101")
    world.owner.set_password(PASSWORD)
    world.owner.save()
    return world


def _sign_in(page, world):
    page.goto("/admin/login/")
    page.locator("#id_username").fill(world.owner.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_resend_an_invitation(new_page, world):
    from playwright.sync_api import expect

    invited = accounts_services.member_invite(
        organisation=world.organisation,
        email="nina@zorblax.example",
        name="Nina New",
        role="user",
        actor=world.owner,
        notify=False,
    )
    page = new_page(WIDE)
    _sign_in(page, world)
    page.goto(f"/admin/accounts/user/{invited.pk}/change/")
    page.get_by_role("link", name="Resend invitation").click()
    expect(page.locator("#statement")).to_contain_text("The link sent before stops working.")
    page.get_by_role("button", name="Send a new invitation").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "A new invitation was sent to nina@zorblax.example."
    )
    screenshot(page, "console-member-resend")


def test_reactivate_a_removed_member(new_page, world):
    from playwright.sync_api import expect

    lifecycle.member_remove(member=world.user, actor=world.owner)
    page = new_page(WIDE)
    _sign_in(page, world)
    page.goto(f"/admin/accounts/user/{world.user.pk}/change/")
    page.get_by_role("link", name="Reactivate").click()
    page.get_by_role("button", name="Reactivate").click()
    expect(page.locator(".messagelist")).to_contain_text(re.compile("is active again", re.I))
    expect(page.get_by_role("link", name="Give a licence")).to_be_visible()
    expect(page.get_by_role("link", name="Assign a number")).to_be_visible()
    screenshot(page, "console-member-reactivate")
    world.user.refresh_from_db()
    assert world.user.status == MemberStatus.ACTIVE


def test_the_activity_log(new_page, world):
    from playwright.sync_api import expect

    page = new_page(WIDE)
    _sign_in(page, world)
    page.get_by_role("link", name="Activity log").first.click()
    expect(page.locator("#result_list")).to_contain_text("zorblax-owner bought User licence · ")
    page.get_by_label("Object").select_option(label="Invoice")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#result_list")).to_contain_text("issued invoice")
    expect(page.locator("#result_list")).not_to_contain_text("bought")
    expect(page.get_by_role("link", name="Export as CSV")).to_be_visible()
    page.get_by_label("Object").select_option("")
    page.get_by_role("button", name="Show").click()
    screenshot(page, "console-activity-log")


LISTS = {
    "licences": "/admin/licensing/licence/",
    "numbers": "/admin/numbering/phonenumber/",
    "members": "/admin/accounts/user/",
    "invoices": "/admin/billing/invoice/",
}


def test_lists_fit_1366_px_without_clipped_columns(new_page, world):
    page = new_page(WIDE)
    _sign_in(page, world)
    clipped = {}
    for name, url in LISTS.items():
        page.goto(url)
        sizes = page.evaluate(
            """() => {
                const box = document.querySelector('#result_list').closest('.results')
                    || document.querySelector('#result_list').parentElement;
                return [box.scrollWidth, box.clientWidth];
            }"""
        )
        if sizes[0] > sizes[1]:
            clipped[name] = sizes
        screenshot(page, f"console-lists-1366-{name}")
        if name == "licences":
            screenshot(page, "console-lists-1366")
    assert clipped == {}
