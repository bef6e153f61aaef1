"""Rule 13 in a mass configuration: rows and add-ons restore licences scheduled for removal, at
no charge, before buying; the dry run says so and its amounts are what the apply bills."""

from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from billing.models import Invoice
from licensing import services as licensing
from licensing.mass_config import mass_config_apply, mass_config_validate
from licensing.models import LicenceStatus
from tests.factories import LicenceFactory, licence_type
from tests.licensing.mass_config.test_mass_config import NOV_1, csv_bytes

pytestmark = pytest.mark.django_db


def test_rows_restore_scheduled_licences_before_buying(org, admin, people, inventory):
    system = LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    recording = LicenceFactory(organisation=org, licence_type=licence_type("call_recording"))
    for licence in (system, recording):
        licensing.licence_terminate(licence=licence, actor=admin, at=NOV_1)
    data = csv_bytes(f"101,{inventory[0]},John,call_recording,team_chat")

    report = mass_config_validate(organisation=org, file_bytes=data, at=NOV_1)
    summary = mass_config_apply(organisation=org, actor=admin, file_bytes=data, at=NOV_1)

    assert report.ok and [r.licence_source for r in report.rows] == ["restore"]
    assert report.quote.restore_note == (
        "2 licences scheduled for removal will be restored, no charge."
    )
    # Only team chat is bought: November in full, 4.50 USD, no tax.
    assert report.quote.total == Decimal("4.50")
    assert (summary.licences_restored, summary.licences_purchased) == (2, 1)
    assert summary.invoice.total == report.quote.total
    assert Invoice.objects.filter(organisation=org).count() == 1
    system.refresh_from_db()
    recording.refresh_from_db()
    assert system.status == LicenceStatus.ACTIVE and system.extension == "101"
    assert system.member == people["John"] and system.numbers.get().e164 == inventory[0]
    assert recording.status == LicenceStatus.ACTIVE and recording.base_licence == system
    restored = AuditEvent.objects.filter(action="licence.restored").values_list(
        "target_id", flat=True
    )
    assert set(restored) == {str(system.pk), str(recording.pk)}
