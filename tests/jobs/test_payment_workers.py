"""Automatic collection on real Celery workers (docs/rules.md, payments): the renewal job issues
the invoices, the collection task sent after its commit charges the card on file, once."""

import pytest

from billing.models import Invoice, LocalProviderCharge, Payment, PaymentAttempt
from billing.payments.methods import payment_method_add_card
from tests.jobs.conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_renewal_invoice_is_charged_automatically_and_once(jobs, due_organisations):
    organisations = due_organisations(3)
    for organisation in organisations[:2]:  # the third has no method of the provider
        payment_method_add_card(
            organisation=organisation,
            actor=None,
            number="4242424242424242",
            exp_month=12,
            exp_year=2099,
        )
    jobs.start("solo")

    jobs.send("billing.renewals_dispatch", as_of=AS_OF)
    jobs.wait_until_idle()
    jobs.send("billing.renewals_dispatch", as_of=AS_OF)  # a second dispatch changes nothing
    jobs.wait_until_idle()

    charged = Invoice.objects.filter(organisation__in=organisations[:2])
    assert charged.count() == 4 and set(charged.values_list("status", flat=True)) == {"paid"}
    assert PaymentAttempt.objects.filter(status="succeeded").count() == 4
    assert Payment.objects.count() == LocalProviderCharge.objects.count() == 4
    for invoice in charged:
        assert invoice.payments.get().amount == invoice.total
    uncharged = Invoice.objects.filter(organisation=organisations[2])
    assert set(uncharged.values_list("status", flat=True)) == {"issued"}
    assert not PaymentAttempt.objects.filter(invoice__in=uncharged).exists()
