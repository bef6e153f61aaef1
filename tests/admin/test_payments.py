"""The console's payment pages (billing/admin/payments.py): every role, another organisation's
ids, and what the pages say."""

import datetime as dt

import pytest
from django.urls import reverse

from billing.models import Invoice, LocalProviderCharge, PaymentAttempt, PaymentMethod
from billing.payments.methods import payment_method_add_card
from tests.admin.conftest import db_state, messages_of, page_text

pytestmark = pytest.mark.django_db

CARD = {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2099", "holder": "A"}


def _card(world, number="4242424242424242"):
    return payment_method_add_card(
        organisation=world.organisation,
        actor=world.owner,
        number=number,
        exp_month=12,
        exp_year=2099,
    )


def _state():
    return (
        db_state(),
        list(PaymentMethod.objects.order_by("pk").values()),
        list(PaymentAttempt.objects.order_by("pk").values()),
        LocalProviderCharge.objects.count(),
    )


def test_owner_adds_a_card_and_the_number_is_never_shown_or_kept(client, world_a):
    client.force_login(world_a.owner)
    response = client.post(reverse("admin:billing_paymentmethod_add"), CARD)
    assert response.status_code == 302
    method = PaymentMethod.objects.get(organisation=world_a.organisation)
    listing = page_text(client.get(reverse("admin:billing_paymentmethod_changelist")))
    assert "Visa ending 4242, expires 12/2099" in listing
    assert "4242424242424242" not in listing and "4242 4242 4242 4242" not in listing
    assert method.token.startswith("pm_local_")


def test_an_expired_card_is_a_form_error_in_words(client, world_a):
    client.force_login(world_a.owner)
    before = _state()
    response = client.post(
        reverse("admin:billing_paymentmethod_add"), {**CARD, "exp_month": "1", "exp_year": "2001"}
    )
    assert response.status_code == 200
    assert "This card has expired." in page_text(response)
    assert "expired_card" not in page_text(response)
    assert _state() == before


def test_removing_the_last_method_says_it_restricts_then_does(client, world_a):
    method = _card(world_a)
    client.force_login(world_a.owner)
    url = reverse("admin:billing_paymentmethod_remove", args=[method.pk])
    page = page_text(client.get(url))
    assert "This is the last payment method on file." in page
    assert PaymentMethod.objects.get(pk=method.pk).removed_at is None  # a GET changes nothing
    assert client.post(url).status_code == 302
    world_a.organisation.refresh_from_db()
    assert PaymentMethod.objects.get(pk=method.pk).removed_at is not None
    assert world_a.organisation.has_payment_method is False


@pytest.mark.parametrize("role", ["admin", "finance"])
def test_admin_and_finance_read_methods_but_cannot_change_them(client, world_a, role):
    method = _card(world_a)
    client.force_login(getattr(world_a, role))
    listing = client.get(reverse("admin:billing_paymentmethod_changelist"))
    assert listing.status_code == 200 and "Visa ending 4242" in page_text(listing)
    assert "Add a card" not in page_text(listing)
    before = _state()
    for response in (
        client.post(reverse("admin:billing_paymentmethod_add"), CARD),
        client.post(reverse("admin:billing_paymentmethod_remove", args=[method.pk])),
        client.post(reverse("admin:billing_paymentmethod_default", args=[method.pk])),
    ):
        assert response.status_code == 403
    assert _state() == before


@pytest.mark.parametrize(
    ("role", "allowed"), [("owner", True), ("finance", True), ("admin", False)]
)
def test_pay_now_by_role(client, world_a, role, allowed):
    _card(world_a)
    invoice = world_a.invoice
    client.force_login(getattr(world_a, role))
    method = PaymentMethod.objects.get(organisation=world_a.organisation)
    response = client.post(
        reverse("admin:billing_invoice_pay", args=[invoice.pk]), {"method": method.pk}
    )
    invoice.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert invoice.status == "paid"
        assert any("is paid" in m for m in messages_of(response))
        page = page_text(client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])))
        assert "Left to pay: <strong>0.00 EUR</strong>" in page and "Succeeded" in page
    else:
        assert response.status_code == 403
        assert invoice.status == "issued" and not PaymentAttempt.objects.exists()


def test_a_declined_pay_now_is_a_message_and_listed_as_a_failed_attempt(client, world_a):
    soft = _card(world_a, "4000000000009995")
    client.force_login(world_a.finance)
    url = reverse("admin:billing_invoice_pay", args=[world_a.invoice.pk])
    response = client.post(url, {"method": soft.pk})
    assert messages_of(response) == [
        "The payment was declined: Insufficient funds. Try another payment method."
    ]
    page = page_text(client.get(reverse("admin:billing_invoice_change", args=[world_a.invoice.pk])))
    assert "Insufficient funds." in page
    assert Invoice.objects.get(pk=world_a.invoice.pk).status == "issued"


def test_another_organisations_invoice_and_method_do_not_exist(client, world_a, world_b):
    method_b = _card(world_b)
    client.force_login(world_a.owner)
    _card(world_a)
    before = _state()
    for url, data in (
        (reverse("admin:billing_invoice_pay", args=[world_b.invoice.pk]), {"method": method_b.pk}),
        (reverse("admin:billing_paymentmethod_remove", args=[method_b.pk]), {}),
        (reverse("admin:billing_paymentmethod_default", args=[method_b.pk]), {}),
    ):
        response = client.post(url, data)
        assert response.status_code == 302 and "admin/" in response.url
        assert response.url.endswith(reverse("admin:index"))
    assert _state() == before


def test_pay_now_with_another_organisations_method_is_a_form_error(client, world_a, world_b):
    method_b = _card(world_b)
    _card(world_a)
    client.force_login(world_a.owner)
    before = _state()
    response = client.post(
        reverse("admin:billing_invoice_pay", args=[world_a.invoice.pk]), {"method": method_b.pk}
    )
    assert response.status_code == 200
    assert "Choose one of the payment methods listed." in page_text(response)
    assert _state() == before


def test_dashboard_and_webapp_show_the_ladder_and_the_action_lifting_it(client, world_a):
    """Overdue more than 30 days: suspended, why, and the link to pay; then the webapp says so
    to a member without console access, who is told who can lift it."""
    _card(world_a)
    Invoice.objects.filter(pk=world_a.invoice.pk).update(due_on=dt.date(2020, 1, 1))
    client.force_login(world_a.finance)
    dashboard = client.get(reverse("admin:index"))
    text = page_text(dashboard)
    assert "Suspended account." in text
    assert "To lift it:" in text and "Pay the overdue invoices from Billing." in text
    assert dashboard.context["standing"].state == "suspended"
    client.force_login(world_a.user)
    home = page_text(client.get(reverse("webapp:home")))
    assert "Outgoing calls and messages are stopped" in home
    assert "An owner or a finance member of your organisation can do it" in home
    Invoice.objects.filter(pk=world_a.invoice.pk).update(due_on=dt.date(2099, 1, 1))
    home = page_text(client.get(reverse("webapp:home")))
    assert "account-standing" not in home


def test_a_suspended_organisations_console_is_read_only_except_billing(client, world_a):
    method = _card(world_a)
    Invoice.objects.filter(pk=world_a.invoice.pk).update(due_on=dt.date(2020, 1, 1))
    client.force_login(world_a.owner)
    before = _state()
    assert client.get(reverse("admin:licensing_licence_buy")).status_code == 403
    assert client.post(reverse("admin:licensing_licence_buy"), {"quantity": "1"}).status_code == 403
    page = client.get(reverse("admin:accounts_user_change", args=[world_a.user.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page_text(page)  # a view page
    assert _state() == before
    assert (
        client.get(reverse("admin:billing_invoice_pay", args=[world_a.invoice.pk])).status_code
        == 200
    )
    response = client.post(
        reverse("admin:billing_invoice_pay", args=[world_a.invoice.pk]), {"method": method.pk}
    )
    assert response.status_code == 302
    assert Invoice.objects.get(pk=world_a.invoice.pk).status == "paid"
    assert client.get(reverse("admin:licensing_licence_buy")).status_code == 200  # lifted
