"""The console's batch of numbers in a real browser: an owner selects members on the members list,
gives each a new number, reads the review (licences taken and bought, the invoice to be) and
confirms. Screenshots of the review and the result go to artifacts/screenshots/."""

import pytest

from numbering.models import PhoneNumber
from tests.browser.conftest import DESKTOP, screenshot
from tests.factories import LicenceFactory, OrganisationFactory, UserFactory, stock

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "console-password-1"


@pytest.fixture
def onboarding(live_server):
    stock("FR", "mobile", 10)
    organisation = OrganisationFactory(name="Onboarding Org")
    owner = UserFactory(organisation=organisation, role="owner", email="owner@onboarding.example")
    owner.set_password(PASSWORD)
    owner.save()
    LicenceFactory(organisation=organisation)  # one free licence; the others are bought
    newcomers = [
        UserFactory(organisation=organisation, name=f"Newcomer {name}")
        for name in ("Ada", "Bo", "Cy")
    ]
    return {"organisation": organisation, "owner": owner, "newcomers": newcomers}


def test_an_owner_gives_three_newcomers_a_number_each(new_page, onboarding):
    from playwright.sync_api import expect  # after the browser fixture: it skips or fails first

    page = new_page(DESKTOP)
    page.goto("/admin/login/")
    page.locator("#id_username").fill("owner@onboarding.example")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto("/admin/accounts/user/?q=Newcomer")
    for member in onboarding["newcomers"]:
        page.locator(f'input[name="_selected_action"][value="{member.pk}"]').check()
    page.locator('select[name="action"]').select_option("give_numbers")
    page.locator("button[name=index]").click()

    expect(page.get_by_role("heading", name="3 members of Onboarding Org")).to_be_visible()
    page.get_by_label("Type").select_option("mobile")
    page.get_by_role("button", name="Next: review").click()

    statement = page.locator("#give-numbers-statement")
    expect(statement).to_contain_text("1 on a free licence")
    expect(statement).to_contain_text("2 on a licence bought now")
    expect(page.locator("#quote-total")).to_be_visible()
    screenshot(page, "console-give-numbers-review")

    page.get_by_role("button", name="Confirm: give 3 numbers").click()
    expect(page.locator(".messagelist")).to_contain_text("Gave 3 member(s) a new number.")
    screenshot(page, "console-give-numbers-done")
    assert PhoneNumber.objects.filter(organisation=onboarding["organisation"]).count() == 3
