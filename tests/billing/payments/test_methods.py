"""Payment methods (docs/rules.md, payments): the local provider's test cards and mandates,
what is stored, the default, removal and rule 18."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from billing.models import PaymentMethod
from billing.payments.methods import (
    payment_method_add_sepa,
    payment_method_confirm,
    payment_method_remove,
    payment_method_set_default,
    payment_methods_expire,
)
from billing.restriction import organisation_is_restricted
from telecom.errors import PaymentMethodNotUsable, RemovalRestricts
from tests.billing.payments.conftest import AT, AUTH_CARD, GOOD_IBAN, OK_CARD, add_card

pytestmark = pytest.mark.django_db


def test_a_card_keeps_only_token_brand_last_four_and_expiry(org, org_owner):
    method = add_card(org, org_owner)
    org.refresh_from_db()
    assert (method.kind, method.brand, method.last4, method.exp_month, method.exp_year) == (
        "card",
        "Visa",
        "4242",
        12,
        2028,
    )
    assert method.is_default and method.status == "active" and method.provider == "local"
    assert (org.payment_method_kind, org.payment_method_reference) == ("card", method.token)
    stored = " ".join(str(v) for v in PaymentMethod.objects.values_list().get(pk=method.pk))
    audit = " ".join(str(a.changes) for a in AuditEvent.objects.all())
    assert "4242424242424242" not in stored + audit and "424242424242" not in stored + audit
    assert not organisation_is_restricted(org, at=AT)


@pytest.mark.parametrize(
    ("number", "exp", "field", "code"),
    [
        ("4242 4242 4242 4241", (12, 2028), "number", "invalid_number"),
        ("", (12, 2028), "number", "invalid_number"),
        (OK_CARD, (2, 2026), "exp_year", "expired_card"),
        (OK_CARD, (13, 2028), "exp_month", "invalid_expiry"),
    ],
)
def test_a_bad_or_expired_card_is_refused_and_nothing_is_stored(
    org, org_owner, number, exp, field, code
):
    with pytest.raises(ValidationError) as caught:
        add_card(org, org_owner, number, exp=exp)
    assert caught.value.error_dict[field][0].code == code
    assert not PaymentMethod.objects.exists()
    org.refresh_from_db()
    assert org.payment_method_kind == "" and organisation_is_restricted(org, at=AT)


def test_a_sepa_mandate_keeps_iban_last_four_reference_and_signature_date(org, org_owner):
    method = payment_method_add_sepa(
        organisation=org, actor=org_owner, iban=GOOD_IBAN, holder="Ada", at=AT
    )
    assert (method.kind, method.last4, method.mandate_signed_on.isoformat()) == (
        "sepa_debit",
        "3000",
        "2026-03-02",
    )
    assert method.mandate_reference.startswith("MD-")
    assert "DE89370400440532013000" not in str(PaymentMethod.objects.values_list().get())


def test_an_invalid_iban_is_a_field_error(org, org_owner):
    with pytest.raises(ValidationError) as caught:
        payment_method_add_sepa(
            organisation=org,
            actor=org_owner,
            iban="DE89 3704 0044 0532 0130 01",
            holder="Ada",
            at=AT,
        )
    assert caught.value.error_dict["iban"][0].code == "invalid_iban"
    assert not PaymentMethod.objects.exists()


def test_a_card_needing_authentication_is_unusable_until_confirmed(org, org_owner):
    method = add_card(org, org_owner, AUTH_CARD)
    org.refresh_from_db()
    assert method.status == "requires_action" and org.payment_method_kind == ""
    assert organisation_is_restricted(org, at=AT)
    with pytest.raises(PaymentMethodNotUsable):
        payment_method_set_default(organisation=org, method_id=method.pk, actor=org_owner, at=AT)
    payment_method_confirm(organisation=org, method_id=method.pk, actor=org_owner, at=AT)
    org.refresh_from_db()
    method.refresh_from_db()
    assert method.status == "active" and method.is_default
    assert not organisation_is_restricted(org, at=AT)


def test_default_moves_and_removing_the_last_method_needs_confirmation(org, org_owner):
    first = add_card(org, org_owner)
    second = payment_method_add_sepa(
        organisation=org, actor=org_owner, iban=GOOD_IBAN, holder="Ada", at=AT
    )
    assert PaymentMethod.objects.get(pk=first.pk).is_default and not second.is_default
    payment_method_set_default(organisation=org, method_id=second.pk, actor=org_owner, at=AT)
    org.refresh_from_db()
    assert org.payment_method_reference == second.token
    payment_method_remove(organisation=org, method_id=second.pk, actor=org_owner, at=AT)
    org.refresh_from_db()
    assert PaymentMethod.objects.get(pk=first.pk).is_default
    assert org.payment_method_reference == first.token
    with pytest.raises(RemovalRestricts):
        payment_method_remove(organisation=org, method_id=first.pk, actor=org_owner, at=AT)
    assert PaymentMethod.objects.get(pk=first.pk).removed_at is None
    payment_method_remove(
        organisation=org, method_id=first.pk, actor=org_owner, restriction_confirmed=True, at=AT
    )
    org.refresh_from_db()
    assert org.payment_method_kind == "" and organisation_is_restricted(org, at=AT)
    assert PaymentMethod.objects.filter(removed_at__isnull=False).count() == 2


def test_another_organisations_method_is_not_found(org, org_owner, other_organisation):
    foreign = add_card(other_organisation, None)
    with pytest.raises(PaymentMethod.DoesNotExist):
        payment_method_remove(
            organisation=org, method_id=foreign.pk, actor=org_owner, restriction_confirmed=True
        )
    assert PaymentMethod.objects.get(pk=foreign.pk).removed_at is None


def test_an_expired_default_card_restricts_unless_another_method_is_usable(org, org_owner):
    add_card(org, org_owner, exp=(3, 2026))
    assert payment_methods_expire(at=AT) == 0
    later = AT.replace(month=4, day=1, hour=9)
    assert payment_methods_expire(at=later) == 1
    org.refresh_from_db()
    assert org.payment_method_kind == "" and organisation_is_restricted(org, at=later)
