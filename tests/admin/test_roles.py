"""Roles in the console (API.md's matrix, through accounts.roles and the RoleBackend)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from accounts.models import AuditEvent, MemberStatus, User
from licensing.models import LicenceStatus
from tests.admin.conftest import SHARE_WORLDS, db_state, messages_of, page_text

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]
# The worlds are built at this instant; the clock runs on from it (tests/admin/conftest.py).
WORLDS_BUILT_AT = dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.UTC)

# The member page's read-only "licences held" inline posts its (empty) management form.
NO_INLINE_ROWS = {"licences-TOTAL_FORMS": "0", "licences-INITIAL_FORMS": "0"}


def test_the_user_role_cannot_enter_the_console_and_is_sent_to_the_webapp(client, world_a):
    client.force_login(world_a.user)
    for url in (
        reverse("admin:index"),
        reverse("admin:licensing_licence_changelist"),
        reverse("admin:search"),
        reverse("admin:login"),
        "/admin/no-such-page/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url == reverse("webapp:home"), url

    home = client.get(reverse("admin:index"), follow=True)

    assert home.redirect_chain == [(reverse("webapp:home"), 302)]
    assert "The admin console is for your organisation&#x27;s owners" in page_text(home)
    assert "Here are your own numbers, messages, calls and voicemail." in page_text(home)


def test_a_signed_out_visitor_still_gets_the_console_sign_in(client, world_a):
    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_the_console_sign_in_links_to_password_reset(client, world_a):
    page = client.get(reverse("admin:login"))

    assert f'href="{reverse("admin_password_reset")}"' in page_text(page)
    reset = client.get(reverse("admin_password_reset"), follow=True)
    assert reset.redirect_chain == [(reverse("webapp:password_reset"), 302)]
    assert reset.status_code == 200


def test_the_user_role_cannot_sign_in_with_a_password(client, world_a):
    response = client.post(
        reverse("admin:login"),
        {
            "username": world_a.user.email,
            "password": "correct-horse-battery",
        },
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_the_console_refuses_an_address_after_ten_wrong_passwords(client, world_a):
    def sign_in(password):
        return client.post(
            reverse("admin:login"), {"username": world_a.owner.email, "password": password}
        )

    for attempt in range(10):
        assert "_auth_user_id" not in sign_in(f"guess-{attempt}").wsgi_request.session
    locked = sign_in("correct-horse-battery")

    assert locked.status_code == 200
    assert "Too many failed sign-ins for this address" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_owner_signs_in_with_a_password(client, world_a):
    response = client.post(
        reverse("admin:login"),
        {
            "username": world_a.owner.email,
            "password": "correct-horse-battery",
            "next": reverse("admin:index"),
        },
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_finance_reads_licences_but_runs_no_licence_action(client, world_a):
    client.force_login(world_a.finance)
    changelist = client.get(reverse("admin:licensing_licence_changelist"))
    assert changelist.status_code == 200
    text = page_text(changelist)
    assert str(world_a.free.pk) in text
    assert 'name="action"' not in text  # no actions offered
    assert "Buy licences" not in text
    page = client.get(reverse("admin:licensing_licence_change", args=[world_a.phone.pk]))
    assert page.status_code == 200
    assert "Manage add-ons" not in page_text(page)

    before = db_state()
    client.post(
        reverse("admin:licensing_licence_changelist"),
        {
            "action": "terminate_selected",
            "_selected_action": [str(world_a.free.pk)],
        },
    )
    for name, args in (
        ("buy", []),
        ("remove", []),
        ("terminate_by_uuid", []),
        ("assign", [world_a.free.pk]),
        ("addons", [world_a.phone.pk]),
        ("extension", [world_a.phone.pk]),
        ("terminate", [world_a.free.pk]),
        ("restore", [world_a.scheduled.pk]),
    ):
        url = reverse(f"admin:licensing_licence_{name}", args=args)
        assert client.get(url).status_code == 403
        assert (
            client.post(
                url,
                {"licence_type": 1, "quantity": 1, "_confirm": "1", "uuid": str(world_a.free.pk)},
            ).status_code
            == 403
        )
    assert db_state() == before
    world_a.free.refresh_from_db()
    assert world_a.free.status == LicenceStatus.ACTIVE


def test_finance_reads_invoices_and_members_but_changes_no_member(client, world_a):
    client.force_login(world_a.finance)
    assert client.get(reverse("admin:billing_invoice_changelist")).status_code == 200
    assert (
        client.get(reverse("admin:billing_invoice_change", args=[world_a.invoice.pk])).status_code
        == 200
    )
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    before = db_state()
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403
    response = client.post(
        reverse("admin:accounts_user_change", args=[world_a.user.pk]),
        {"name": "renamed", "role": "owner"},
    )
    assert response.status_code == 403
    assert (
        client.post(
            reverse("admin:accounts_user_delete", args=[world_a.user.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert db_state() == before


def test_an_admin_cannot_invite_an_owner(client, world_a):
    client.force_login(world_a.admin)
    before = db_state()
    form = client.get(reverse("admin:accounts_user_add"))
    assert 'value="owner"' not in page_text(form)
    assert 'value="finance"' in page_text(form)

    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "boss@zorblax.example",
            "name": "Boss",
            "role": "owner",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in page_text(response)
    assert not User.objects.filter(email="boss@zorblax.example").exists()
    assert db_state() == before


def test_an_admin_invites_a_finance_member(client, world_a):
    client.force_login(world_a.admin)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "Clerk@Zorblax.example",
            "name": "Clerk",
            "role": "finance",
        },
    )
    assert response.status_code == 302
    clerk = User.objects.get(email="clerk@zorblax.example")
    assert (clerk.organisation, clerk.role, clerk.status) == (
        world_a.organisation,
        "finance",
        MemberStatus.INVITED,
    )
    assert AuditEvent.objects.filter(
        action="member.invited", target_id=str(clerk.pk), actor=world_a.admin
    ).exists()


def test_an_admin_changing_an_owner_gets_the_service_refusal_as_a_message(client, world_a):
    client.force_login(world_a.admin)
    before = db_state()
    url = reverse("admin:accounts_user_change", args=[world_a.owner.pk])
    response = client.post(url, {"name": "demoted", "role": "owner", **NO_INLINE_ROWS})
    assert response.status_code == 302
    assert response.url == url
    assert any(
        "Your role may not manage members with the role owner." in m for m in messages_of(response)
    )
    assert db_state() == before


def test_an_admin_cannot_remove_an_owner(client, world_a):
    client.force_login(world_a.admin)
    before = db_state()
    response = client.post(
        reverse("admin:accounts_user_delete", args=[world_a.owner.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert any(
        "Your role may not manage members with the role owner." in m for m in messages_of(response)
    )
    assert db_state() == before


def test_only_the_owner_changes_the_organisation(client, world_a):
    url = reverse("admin:accounts_organisation_change", args=[world_a.organisation.pk])
    for member in (world_a.admin, world_a.finance):
        client.force_login(member)
        page = client.get(url)
        assert page.status_code == 200
        assert 'name="name"' not in page_text(page)  # read-only
        before = db_state()
        # finance may change the invoice language only (its one field): the name stays
        refused = 403 if member == world_a.admin else 302
        assert client.post(url, {"name": "Hijacked"}).status_code == refused
        assert db_state() == before
    client.force_login(world_a.owner)
    assert 'name="name"' in page_text(client.get(url))
    assert 'name="calling_credit_cap"' not in page_text(client.get(url))


def test_members_cannot_edit_the_catalogue_but_staff_can(client, world_a, staff):
    from licensing.models import LicenceType

    phone = LicenceType.objects.get(code="phone_system")
    url = reverse("admin:licensing_licencetype_change", args=[phone.pk])
    client.force_login(world_a.owner)
    page = client.get(url)
    assert page.status_code == 200
    assert "24.95" in page_text(page)  # prices are shown
    assert 'name="name"' not in page_text(page)
    assert client.post(url, {"name": "Free phones"}).status_code == 403
    assert client.get(reverse("admin:licensing_licencetype_add")).status_code == 403

    client.force_login(staff)
    assert 'name="name"' in page_text(client.get(url))


def test_the_audit_trail_is_read_only_for_everyone(client, world_a, staff):
    event = AuditEvent.objects.filter(organisation=world_a.organisation).first()
    for user in (world_a.owner, staff):
        client.force_login(user)
        assert (
            client.get(reverse("admin:accounts_auditevent_change", args=[event.pk])).status_code
            == 200
        )
        assert client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
        assert (
            client.post(
                reverse("admin:accounts_auditevent_delete", args=[event.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_token_and_group_pages_are_not_in_the_console(client, staff):
    client.force_login(staff)
    text = page_text(client.get(reverse("admin:index")))
    assert "authtoken" not in text and "Groups" not in text


# --- every customer role against every money-changing console route (issue 11 section 4) --------

MANAGERS = ("owner", "admin")
STAFF_ONLY = ()

# route: (url name, the world's object it acts on or None, customer roles who may use it).
# Platform staff may use them all.
MONEY_ROUTES = {
    "buy licences": ("licensing_licence_buy", None, MANAGERS),
    "remove licences": ("licensing_licence_remove", None, MANAGERS),
    "terminate by UUID": ("licensing_licence_terminate_by_uuid", None, MANAGERS),
    "terminate": ("licensing_licence_terminate", "free", MANAGERS),
    "restore": ("licensing_licence_restore", "scheduled", MANAGERS),
    "assign a licence": ("licensing_licence_assign", "free", MANAGERS),
    "add-ons": ("licensing_licence_addons", "phone", MANAGERS),
    "mass configuration": ("licensing_licence_mass_configuration", None, MANAGERS),
    "assign a number (auto-purchase)": ("numbering_phonenumber_assign", None, MANAGERS),
    "porting request": ("numbering_portingrequest_add", None, MANAGERS),
    "order devices": ("billing_charge_add", None, MANAGERS),
    "record a payment": ("billing_invoice_payment", "invoice", STAFF_ONLY),
    "credit note": ("billing_invoice_credit", "invoice", STAFF_ONLY),
    "credit and reissue": ("billing_invoice_reissue", "invoice", STAFF_ONLY),
    "set a commitment": ("billing_commitment_add", None, STAFF_ONLY),
}
DENIED = [
    (route, caller)
    for route, (_name, _obj, allowed) in MONEY_ROUTES.items()
    for caller in ("owner", "admin", "finance", "user", "anonymous")
    if caller not in allowed
]


def _route_url(world, route: str) -> str:
    name, obj, _allowed = MONEY_ROUTES[route]
    return reverse(f"admin:{name}", args=[getattr(world, obj).pk] if obj else [])


@pytest.fixture
def pinned():
    with time_machine.travel(WORLDS_BUILT_AT, tick=False):
        yield


@pytest.mark.parametrize(("route", "caller"), DENIED)
def test_a_denied_caller_changes_no_money_in_the_console(pinned, client, world_a, route, caller):
    """Each customer role (and nobody) against each route that can change what is billed or
    paid: a role without the right gets 403, the user role is sent to the webapp and the anonymous
    visitor to sign in, and then no invoice, payment, licence, charge or commitment has changed."""
    if caller != "anonymous":
        client.force_login(getattr(world_a, caller))
    target = _route_url(world_a, route)
    before = db_state()

    page = client.get(target)
    posted = client.post(
        target,
        {
            "licence_type": 1,
            "quantity": 1,
            "uuid": str(world_a.free.pk),
            "member": str(world_a.user.pk),
            "device": 1,
            "method": "bank_transfer",
            "reference": "BANK-42",
            "reason": "no reason",
            "_confirm": "1",
        },
    )

    for response in (page, posted):
        if caller == "user":  # sent to the webapp
            assert response.status_code == 302
            assert response.url == reverse("webapp:home")
        elif caller == "anonymous":
            assert response.status_code == 302
            assert response.url.startswith(reverse("admin:login"))
        else:
            assert response.status_code == 403
    assert db_state() == before
    world_a.invoice.refresh_from_db()
    assert world_a.invoice.status == "issued"


@pytest.mark.parametrize("route", MONEY_ROUTES)
def test_platform_staff_reach_every_money_route(pinned, client, staff, world_a, route):
    client.force_login(staff)
    assert client.get(_route_url(world_a, route)).status_code == 200
