"""The main pages at desktop (1280) and phone (390) widths, with demo data: screenshots go to
artifacts/screenshots/ for a person to look at; the test checks what a machine can see — every
page renders, nothing overflows sideways on a phone, and every form control has a label."""

from urllib.parse import urlsplit

import pytest

from accounts import invitations, signup
from accounts import services as accounts_services
from accounts.models import SignupRequest
from licensing import services as licensing_services
from numbering.services import number_assign
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import OrganisationFactory, UserFactory, licence_type, stock
from tests.webapp.conftest import give_number
from webapp.demo import demo_activity_seed
from webapp.models import Message

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "demo-password-1"

UNLABELLED_CONTROLS = """
() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)
"""


@pytest.fixture
def demo(live_server, django_capture_on_commit_callbacks):
    stock("FR", "mobile", 5)
    stock("FR", "landline", 5)
    organisation = OrganisationFactory(name="Acme Telecom Demo", plan="advanced")
    owner = UserFactory(organisation=organisation, role="owner", email="owner@acme.example")
    user = UserFactory(
        organisation=organisation, email="user@acme.example", name="Ulysse User", role="user"
    )
    user.set_password(PASSWORD)
    user.save()
    give_number(user, "mobile", actor=owner)
    phone = number_assign(
        organisation=organisation,
        actor=owner,
        country="FR",
        number_type="landline",
        member=user,
        licence_type=licence_type("phone_system"),
    ).licence
    licensing_services.licence_set_extension(licence=phone, extension="103", actor=owner)
    licensing_services.licence_set_addons(
        licence=phone, codes=["device_ip_phone", "call_recording"], actor=owner
    )
    demo_activity_seed()
    invited = accounts_services.member_invite(
        organisation=organisation,
        email="new@acme.example",
        name="Nina New",
        role="user",
        actor=owner,
    )
    return {"user": user, "invited": invited}


def signup_path() -> str:
    """The link a sign-up e-mails its owner (accounts/signup.py), as a path."""
    pending = SignupRequest.objects.create(
        email="founder@newco.example",
        details={"organisation_name": "Newco Télécom", "owner_name": "Ada"},
        password_hash="!",
    )
    return urlsplit(signup.signup_link_for(pending)).path


def sign_in(page, email: str) -> None:
    page.goto("/sign-in/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_main_pages(new_page, demo, width, viewport):
    page = new_page(viewport)
    message = Message.objects.filter(member=demo["user"]).order_by("sent_at").first()
    pages = {
        "sign-in": "/sign-in/",
        "invitation": f"/invitation/{invitations.invitation_token_for(demo['invited'])}/",
        "password-reset": "/password/reset/",
        "signup-confirm": signup_path(),
    }
    for name, path in pages.items():
        page.goto(path)
        check(page, name, width)

    sign_in(page, "user@acme.example")
    pages = {
        "home": "/",
        "messages": "/messages/",
        "conversation": f"/messages/{message.number_id}/with/{message.peer}/",
        "calls": "/calls/",
        "voicemail": "/voicemail/",
        "profile": "/profile/",
    }
    for name, path in pages.items():
        page.goto(path)
        if name == "voicemail":
            page.wait_for_function(
                "() => [...document.querySelectorAll('audio')].every(a => a.readyState >= 1)"
            )
        check(page, name, width)


def check(page, name: str, width: str) -> None:
    assert page.locator("main h1").count() == 1, name
    screenshot(page, f"{name}-{width}")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} at {width} width scrolls sideways by {overflow}px"
    assert page.evaluate(UNLABELLED_CONTROLS) == [], name
