"""The limit on failed sign-ins, as a person meets it: ten wrong passwords, then even the right
one is refused with a sentence that says why and what to do. Screenshot for a person to look
at: artifacts/screenshots/sign-in-locked-phone.png."""

import re

import pytest

from tests.browser.conftest import PHONE, screenshot
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_ten_wrong_passwords_then_the_page_says_to_wait_or_reset(new_page, live_server):
    from playwright.sync_api import expect  # after the browser fixture: it skips or fails first

    member = UserFactory(organisation=OrganisationFactory(), email="guessed@browser.example")
    page = new_page(PHONE)
    page.goto("/sign-in/")

    def sign_in(password):
        page.get_by_label("E-mail address").fill(member.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    for attempt in range(10):
        sign_in(f"guess-{attempt}")
        expect(page.get_by_text("do not match an active account")).to_be_visible()
    sign_in("correct-horse-battery")

    expect(page).to_have_url(re.compile(r"/sign-in/$"))
    refusal = page.get_by_text("Too many failed sign-ins for this address")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("Try again in 15 minutes, or reset your password.")
    expect(page.get_by_role("link", name=re.compile("forgot|reset", re.I))).to_be_visible()
    screenshot(page, "sign-in-locked-phone")
