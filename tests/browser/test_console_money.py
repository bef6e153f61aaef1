"""Money and licences in the console, in a real browser: a porting request and add-ons show
their price before anything is bought, and a licence page lists the numbers it holds.
Screenshots: console-porting-review.png, console-addons-review.png, console-licence-page.png."""

import datetime as dt
import re

import pytest
import time_machine

from billing.models import Invoice
from licensing import services as licensing
from numbering.models import PortingRequest
from tests.browser.conftest import DESKTOP, screenshot
from tests.factories import OrganisationFactory, UserFactory, give_number, licence_type

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "console-password-1"
PARIS = dt.timezone(dt.timedelta(hours=1))
MONDAY = dt.datetime(2026, 11, 9, 10, 0, tzinfo=PARIS)
MOBILE, MOBILE_RIO = "+33612345678", "02P000001K9X"
SCREEN = DESKTOP | {"width": 1366}


@pytest.fixture(autouse=True)
def monday():
    with time_machine.travel(MONDAY, tick=True):
        yield


@pytest.fixture
def org(live_server):
    return OrganisationFactory(name="Papeterie Martin", billing_anchor=dt.date(2026, 1, 1))


@pytest.fixture
def owner(org):
    owner = UserFactory(organisation=org, role="owner", email="owner@martin.example")
    owner.set_password(PASSWORD)
    owner.save()
    return owner


@pytest.fixture
def member(org):
    return UserFactory(organisation=org, role="user", name="Mia Member")


def sign_in(page):
    page.goto("/admin/login/")
    page.locator("#id_username").fill("owner@martin.example")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_porting_request_shows_its_price_before_it_is_submitted(new_page, owner, member):
    from playwright.sync_api import expect

    page = new_page(SCREEN)
    sign_in(page)
    page.goto("/admin/numbering/portingrequest/add/")
    page.locator("#id_e164").fill(MOBILE)
    page.locator("#id_type").select_option("mobile")
    page.locator("#id_member").select_option(str(member.pk))
    page.locator("#id_porting_date").fill("2026-11-12")
    page.locator("#id_rio").fill(MOBILE_RIO)
    page.get_by_role("button", name="Next: review").click()

    expect(page.locator("#porting-review")).to_be_visible()
    expect(page.locator("#porting-buys")).to_contain_text("A licence will be bought")
    expect(page.locator("#quote-total")).to_contain_text("EUR")
    total = page.locator("#quote-total").inner_text()
    assert not PortingRequest.objects.exists() and not Invoice.objects.exists()
    screenshot(page, "console-porting-review")

    page.get_by_role("button", name="Confirm: submit the porting request").click()

    invoice = Invoice.objects.get()
    assert f"{invoice.total} {invoice.currency}" == total
    expect(page.locator(".messagelist")).to_contain_text(
        f"invoice {invoice.number}, total {invoice.total} {invoice.currency}"
    )
    assert PortingRequest.objects.get().member == member


def test_addons_show_their_price_before_they_are_bought(new_page, org, owner, member):
    from playwright.sync_api import expect

    phone = licensing.licence_allocate(
        organisation=org, licence_type=licence_type("phone_system"), member=member, actor=owner
    ).licence
    before = set(Invoice.objects.values_list("pk", flat=True))
    page = new_page(SCREEN)
    sign_in(page)
    page.goto(f"/admin/licensing/licence/{phone.pk}/addons/")
    page.locator('input[value="team_chat"]').check()
    page.get_by_role("button", name="Next: review").click()

    expect(page.locator("#addons-review")).to_be_visible()
    expect(page.locator("#addons-attach")).to_contain_text("a licence will be bought")
    expect(page.locator("#quote-total")).to_contain_text("EUR")
    total = page.locator("#quote-total").inner_text()
    assert not phone.addons.exists()
    screenshot(page, "console-addons-review")

    page.get_by_role("button", name="Confirm: save the add-ons").click()

    expect(page.locator(".messagelist")).to_be_visible()
    invoice = Invoice.objects.exclude(pk__in=before).get()
    assert f"{invoice.total} {invoice.currency}" == total
    expect(page.locator(".messagelist")).to_contain_text(f"invoice {invoice.number}")
    assert list(phone.addons.values_list("licence_type__code", flat=True)) == ["team_chat"]


def test_a_licence_page_lists_its_numbers(new_page, owner, member):
    from playwright.sync_api import expect

    number = give_number(member, start=300)
    page = new_page(SCREEN)
    sign_in(page)
    page.goto(f"/admin/licensing/licence/{number.licence_id}/change/")

    link = page.get_by_role("link", name=str(number))
    expect(link).to_be_visible()
    expect(page.locator(".field-capacity")).to_contain_text("1 number")
    expect(page.locator(".field-number_changes")).to_contain_text(re.compile(r"\d+ of \d+ used"))
    expect(page.locator("#terminate-disabled")).to_contain_text("it is assigned")
    screenshot(page, "console-licence-page")

    link.click()
    expect(page).to_have_url(re.compile(rf"/admin/numbering/phonenumber/{number.pk}/change/"))
