"""Races on PostgreSQL with real concurrent connections (one per thread)."""

import datetime as dt
from collections import Counter

import pytest
from django.db.models import Count

from billing.models import Invoice
from licensing import services
from licensing.models import Licence
from telecom import errors
from tests.concurrency import run_concurrently
from tests.factories import LicenceFactory, OrganisationFactory, UserFactory, licence_type

race = pytest.mark.django_db(transaction=True)


@race
def test_thirty_members_race_for_the_last_free_licence_under_block_policy():
    org = OrganisationFactory(licence_policy="block")
    owner = UserFactory(organisation=org, role="owner")
    LicenceFactory(organisation=org, member=UserFactory(organisation=org))  # taken
    last_free = LicenceFactory(organisation=org)
    members = [UserFactory(organisation=org) for _ in range(30)]
    standard = licence_type("user_standard")

    results = run_concurrently(
        [
            lambda m=m: services.licence_allocate(
                organisation=org, licence_type=standard, member=m, actor=owner
            )
            for m in members
        ]
    )

    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"AllocationResult": 1, "NoLicenceAvailable": 29}
    assert all(
        isinstance(r, (services.AllocationResult, errors.NoLicenceAvailable)) for r in results
    )
    last_free.refresh_from_db()
    winner = next(r for r in results if isinstance(r, services.AllocationResult))
    assert last_free.member_id == winner.licence.member_id
    assert Licence.objects.filter(organisation=org).count() == 2
    assert not Invoice.objects.filter(organisation=org).exists()


@race
def test_thirty_allocations_with_auto_purchase_give_each_member_one_licence():
    org = OrganisationFactory(licence_policy="auto_purchase")
    owner = UserFactory(organisation=org, role="owner")
    LicenceFactory(organisation=org)  # one free licence; 29 must be bought
    members = [UserFactory(organisation=org) for _ in range(30)]
    standard = licence_type("user_standard")

    results = run_concurrently(
        [
            lambda m=m: services.licence_allocate(
                organisation=org, licence_type=standard, member=m, actor=owner
            )
            for m in members
        ]
    )

    assert all(isinstance(r, services.AllocationResult) for r in results), results
    assert sum(r.purchased for r in results) == 29
    per_member = Licence.objects.filter(organisation=org).values("member").annotate(n=Count("pk"))
    assert {row["n"] for row in per_member} == {1}
    assert Licence.objects.filter(organisation=org, member__isnull=False).count() == 30
    sequences = sorted(Invoice.objects.filter(organisation=org).values_list("sequence", flat=True))
    assert sequences == list(range(1, 30))


@race
def test_twenty_concurrent_purchases_give_consecutive_invoice_numbers():
    org = OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))
    owner = UserFactory(organisation=org, role="owner")
    standard = licence_type("user_standard")

    results = run_concurrently(
        [
            lambda: services.licences_purchase(
                organisation=org, licence_type=standard, quantity=1, actor=owner
            )
            for _ in range(20)
        ]
    )

    assert all(isinstance(r, services.PurchaseResult) for r in results), results
    invoices = Invoice.objects.filter(organisation=org)
    assert sorted(invoices.values_list("sequence", flat=True)) == list(range(1, 21))
    assert len(set(invoices.values_list("number", flat=True))) == 20
    org.refresh_from_db()
    assert org.last_invoice_sequence == 20


@race
def test_concurrent_extension_claims_leave_one_holder():
    org = OrganisationFactory()
    owner = UserFactory(organisation=org, role="owner")
    licences = [
        LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
        for _ in range(10)
    ]

    results = run_concurrently(
        [
            lambda lic=lic: services.licence_set_extension(
                licence=lic, extension="101", actor=owner
            )
            for lic in licences
        ]
    )

    assert Counter(type(r).__name__ for r in results) == {"Licence": 1, "ExtensionTaken": 9}
    assert Licence.objects.filter(organisation=org, extension="101").count() == 1
