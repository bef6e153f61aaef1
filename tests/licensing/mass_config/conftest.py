"""The organisation, members and inventory the mass configuration tests share."""

import datetime as dt
from decimal import Decimal

import pytest

from numbering.models import InventoryNumber
from tests.factories import OrganisationFactory, UserFactory
from tests.licensing.mass_config.test_mass_config import SAMPLE_NUMBERS


@pytest.fixture
def org():
    return OrganisationFactory(
        country="US",
        currency="USD",
        timezone="America/New_York",
        billing_anchor=dt.date(2026, 1, 1),
        tax_rate=Decimal("0"),
    )


@pytest.fixture
def admin(org):
    return UserFactory(organisation=org, role="admin", name="Ada Admin")


@pytest.fixture
def people(org):
    return {
        name: UserFactory(organisation=org, name=name, email=f"{name.lower()}@acme.example")
        for name in ("John", "Alice", "Lucie", "Hallie")
    }


@pytest.fixture
def inventory(db):
    InventoryNumber.objects.bulk_create(
        InventoryNumber(e164=e164, country="US", number_type="landline") for e164 in SAMPLE_NUMBERS
    )
    return SAMPLE_NUMBERS
