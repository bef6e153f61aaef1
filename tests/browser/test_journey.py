"""An invited member's first visit, in a real browser: accept the invitation, sign in, see the
numbers, text from the mobile (and not from the landline), play a voicemail, sign out."""

import re

import pytest

from accounts import invitations
from accounts import services as accounts_services
from numbering.phone import format_for_people
from tests.factories import OrganisationFactory, UserFactory, stock
from tests.webapp.conftest import give_number, voicemail
from webapp.models import Message

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-browser-password-1"


@pytest.fixture
def invited(live_server):
    stock("FR", "mobile", 3)
    stock("FR", "landline", 3)
    organisation = OrganisationFactory(name="Browser Org")
    owner = UserFactory(organisation=organisation, role="owner", email="owner@browser.example")
    member = accounts_services.member_invite(
        organisation=organisation,
        email="nina@browser.example",
        name="Nina",
        role="user",
        actor=owner,
    )
    mobile = give_number(member, "mobile", actor=owner)
    landline = give_number(member, "landline", actor=owner)
    voicemail(mobile, caller="+33698765432", seconds=2)
    return {"member": member, "mobile": mobile, "landline": landline}


def test_an_invited_member_joins_texts_plays_a_voicemail_and_signs_out(new_page, invited):
    from playwright.sync_api import expect  # after the browser fixture: it skips or fails first

    member, mobile, landline = invited["member"], invited["mobile"], invited["landline"]
    page = new_page()

    # Accept the invitation: set a name and a password, land on the home page, signed in.
    page.goto(f"/invitation/{invitations.invitation_token_for(member)}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome to Browser Org")
    page.get_by_label("Your name").fill("Nina Nouvelle")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Set my password and continue").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Nina Nouvelle")

    # Sign out, and back in with the new password.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in/$"))
    page.get_by_label("E-mail address").fill("Nina@Browser.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))

    # My numbers, formatted for people, with what each can do.
    mobile_card = page.locator(f'[data-number="{mobile.e164}"]')
    landline_card = page.locator(f'[data-number="{landline.e164}"]')
    expect(mobile_card).to_contain_text(format_for_people(mobile.e164))
    expect(mobile_card).to_contain_text("France · Mobile")
    expect(landline_card).to_contain_text("Landline")
    expect(mobile_card.locator('[data-capability="sms"]')).to_have_class(re.compile(r"\bon\b"))
    expect(landline_card.locator('[data-capability="sms"]')).to_have_class(re.compile(r"\boff\b"))
    expect(landline_card.get_by_role("link", name="Send a text")).to_have_count(0)

    # Text from the mobile; the landline is not offered as a sender.
    mobile_card.get_by_role("link", name="Send a text").click()
    sender = page.get_by_label("From")
    options = sender.locator("option").all_inner_texts()
    assert [o.split(" (")[0] for o in options] == [format_for_people(mobile.e164)]
    assert format_for_people(landline.e164) not in " ".join(options)
    page.get_by_label("To").fill("06 98 76 54 32")
    page.get_by_label("Message", exact=True).fill("Hello from the browser")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("+33 6 98 76 54 32")
    bubble = page.locator(".bubble.outbound").last
    expect(bubble).to_contain_text("Hello from the browser")
    expect(bubble).to_contain_text("Sent")

    # A reply in the conversation goes through htmx, without reloading the page.
    page.evaluate("window.__same_page = true")
    page.get_by_label("Reply").fill("And a second one")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".bubble.outbound")).to_have_count(2)
    assert page.evaluate("window.__same_page") is True
    assert Message.objects.filter(member=member, status="sent").count() == 2

    # The landline's own conversation page offers no reply.
    page.goto(f"/messages/{landline.pk}/with/+33698765432/")
    expect(page.locator("form.reply")).to_have_count(0)
    expect(page.locator(".note")).to_contain_text("cannot send text messages")

    # Play the voicemail: the audio element loads its metadata and plays.
    page.get_by_role("link", name="Voicemail").click()
    audio = page.locator("audio").first
    expect(audio).to_be_visible()
    page.wait_for_function("() => document.querySelector('audio').readyState >= 1", timeout=10_000)
    duration = page.evaluate("document.querySelector('audio').duration")
    assert 1.5 < duration < 2.5
    page.evaluate("document.querySelector('audio').play()")
    page.wait_for_function("() => document.querySelector('audio').currentTime > 0", timeout=10_000)

    # Sign out: the pages are gone with the session.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in/$"))
    page.goto("/messages/")
    expect(page).to_have_url(re.compile(r"/sign-in/\?next=/messages/$"))


def test_deleting_a_voicemail_with_htmx_keeps_the_page(new_page, invited):
    from playwright.sync_api import expect

    member = invited["member"]
    member.set_password(PASSWORD)
    member.status = "active"
    member.save()
    page = new_page()
    page.goto("/sign-in/")
    page.get_by_label("E-mail address").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/voicemail/")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile(r"^Delete")).click()

    expect(page.locator(".flash-success")).to_contain_text("is deleted")
    expect(page.locator("audio")).to_have_count(0)
