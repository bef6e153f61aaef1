"""A large mass-configuration file checked by a real Celery worker (licensing.mass_config_check):
the worker reads the stored file, reports its progress and renders the review the page shows."""

import pytest
from django.core.files.storage import default_storage

from licensing import mass_config
from licensing.mass_config.checks import mass_config_check_start
from licensing.mass_config.reviewed import reviewed_path
from licensing.models import MassConfigurationCheck
from numbering.models import InventoryNumber
from tests.factories import OrganisationFactory, UserFactory
from tests.licensing.mass_config.test_mass_config import SAMPLE_NUMBERS

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_checks_the_stored_file_and_renders_its_review(jobs):
    organisation = OrganisationFactory(country="US", currency="USD", timezone="America/New_York")
    admin = UserFactory(organisation=organisation, role="admin")
    for name in ("John", "Alice", "Lucie", "Hallie"):
        UserFactory(organisation=organisation, name=name, email=f"{name.lower()}@acme.example")
    InventoryNumber.objects.bulk_create(
        InventoryNumber(e164=e164, country="US", number_type="landline") for e164 in SAMPLE_NUMBERS
    )
    check = mass_config_check_start(
        organisation=organisation,
        actor=admin,
        data=mass_config.sample_csv().encode(),
        filename="big.csv",
    )
    jobs.start("solo")

    jobs.send("licensing.mass_config_check", check_id=str(check.pk))
    jobs.wait_for(
        lambda: MassConfigurationCheck.objects.get(pk=check.pk).status in ("done", "failed"),
        what="the worker to finish the check",
    )

    check.refresh_from_db()
    assert (check.status, check.ok, check.rows, check.checked_rows) == ("done", True, 4, 4)
    assert 'id="mass-config-changes"' in check.report_html
    assert "hallie@acme.example" in check.report_html
    default_storage.delete(reviewed_path(check.pk.hex))
