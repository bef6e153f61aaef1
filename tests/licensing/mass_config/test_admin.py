"""The console's mass configuration page (rule 23): sample, dry-run report, confirm, apply."""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from licensing import mass_config
from licensing import tasks as licensing_tasks
from licensing.models import Licence
from numbering.models import InventoryNumber, NumberStatus, PhoneNumber
from numbering.phone import format_for_people
from tests.factories import UserFactory
from tests.licensing.mass_config.test_mass_config import (
    HEADER,
    NOV_1,
    SAMPLE_NUMBERS,
    Snapshot,
    csv_bytes,
)

pytestmark = pytest.mark.django_db
PAGE = "admin:licensing_licence_mass_configuration"


@pytest.fixture(autouse=True)
def nov_1(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with time_machine.travel(NOV_1, tick=False):
        yield


@pytest.fixture
def console(client, admin):
    client.force_login(admin)
    return client


def upload(data: bytes):
    return SimpleUploadedFile("extensions.csv", data, content_type="text/csv")


def confirm_fields(response) -> dict:
    form = re.search(
        r'<form[^>]*id="mass-config-confirm".*?</form>', response.content.decode(), re.S
    )
    assert form, "no confirm form"
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(0)))


def test_the_licences_list_links_to_the_page(console):
    response = console.get(reverse("admin:licensing_licence_changelist"))

    assert reverse(PAGE) in response.content.decode()


def test_the_sample_downloads(console, org):
    response = console.get(reverse("admin:licensing_licence_mass_configuration_sample"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode() == mass_config.sample_csv_for(org)
    assert response.content.decode().splitlines()[0] == HEADER


@pytest.mark.parametrize("policy", ["auto_purchase", "block"])
def test_the_sample_is_the_organisations_own_and_validates_unchanged(
    console, org, admin, people, inventory, policy
):
    from accounts.models import Organisation
    from licensing import services as licensing
    from tests.factories import licence_type

    Organisation.objects.filter(pk=org.pk).update(licence_policy=policy)
    org.refresh_from_db()
    # John already has a phone system with extension 101 and an add-on; one more is free.
    bought = licensing.licences_purchase(
        organisation=org, licence_type=licence_type("phone_system"), quantity=2, actor=admin
    ).purchased
    licensing.licence_assign(licence=bought[0], member=people["John"], actor=admin)
    licensing.licence_set_extension(licence=bought[0], extension="101", actor=admin)
    snapshot = Snapshot()

    data = console.get(reverse("admin:licensing_licence_mass_configuration_sample")).content
    text = data.decode()
    rows = text.splitlines()[1:]
    assert rows[0].startswith("101,,john@acme.example")
    emails = set(org.members.values_list("email", flat=True))
    assert all(row.split(",")[2] in emails for row in rows)  # the organisation's own members
    if policy == "block":
        assert len(rows) == 2  # John restated, and one new row for the one free phone system
    assert any("+1" in row for row in rows[1:])  # a free number of the inventory

    report = mass_config.mass_config_validate(organisation=org, file_bytes=data)
    assert report.errors == []
    review = console.post(reverse(PAGE), {"file": upload(data), "_review": "1"})
    assert review.status_code == 200
    assert 'id="mass-config-errors"' not in review.content.decode()
    assert snapshot.unchanged()


def test_review_then_confirm_applies_the_sample(console, org, people, inventory):
    snapshot = Snapshot()
    review = console.post(
        reverse(PAGE), {"file": upload(mass_config.sample_csv().encode()), "_review": "1"}
    )

    assert review.status_code == 200
    page = review.content.decode()
    assert 'id="mass-config-changes"' in page and 'id="mass-config-errors"' not in page
    for ext, e164 in zip(("101", "102", "104", "109"), SAMPLE_NUMBERS, strict=True):
        assert f"<td>{ext}</td>" in page and format_for_people(e164) in page  # as people read it
    assert '<td class="num" id="quote-total">180.80 USD</td>' in page
    assert snapshot.unchanged()  # the review writes nothing

    fields = confirm_fields(review)
    applied = console.post(reverse(PAGE), {**fields, "_confirm": "1"})

    assert applied.status_code == 302
    assert applied.url == reverse("admin:licensing_licence_changelist")
    assert Licence.objects.filter(organisation=org).count() == 18
    assert Invoice.objects.get(organisation=org, kind="purchase").subtotal == Decimal("180.80")
    assert set(PhoneNumber.objects.values_list("status", flat=True)) == {NumberStatus.ASSIGNED}
    message = next(str(m) for m in get_messages(applied.wsgi_request))
    assert "4 extension(s)" in message and "180.80 USD" in message


def test_errors_are_listed_with_row_column_and_sentence(console, people, inventory):
    data = csv_bytes("101,6567891230,John,device_ip_phone", "101,6567891231,Nobody,nope")
    snapshot = Snapshot()

    response = console.post(reverse(PAGE), {"file": upload(data), "_review": "1"})

    page = response.content.decode()
    assert 'id="mass-config-errors"' in page and 'id="mass-config-confirm"' not in page
    for code in ("duplicate_extension", "unknown_user", "unknown_addon"):
        assert f'<tr data-code="{code}">' in page
        assert f">{code}<" not in page  # people read sentences, not codes
    assert "<td>3</td><td>User</td>" in page
    assert snapshot.unchanged()


def test_a_file_that_stopped_validating_is_not_applied(console, org, people, inventory):
    review = console.post(
        reverse(PAGE), {"file": upload(mass_config.sample_csv().encode()), "_review": "1"}
    )
    fields = confirm_fields(review)
    InventoryNumber.objects.filter(e164=SAMPLE_NUMBERS[0]).delete()  # taken meanwhile
    snapshot = Snapshot()

    response = console.post(reverse(PAGE), {**fields, "_confirm": "1"})

    assert response.status_code == 200
    assert '<tr data-code="number_unavailable">' in response.content.decode()
    assert snapshot.unchanged()


def test_a_damaged_confirmation_applies_nothing(console, people, inventory):
    snapshot = Snapshot()

    response = console.post(reverse(PAGE), {"token": "0" * 32, "_confirm": "1"})

    assert response.status_code == 302 and response.url == reverse(PAGE)
    assert snapshot.unchanged()


def test_a_reviewed_file_is_confirmed_once_and_by_its_session_only(console, org, people, inventory):
    review = console.post(
        reverse(PAGE), {"file": upload(mass_config.sample_csv().encode()), "_review": "1"}
    )
    fields = confirm_fields(review)
    other = Client()
    other.force_login(UserFactory(organisation=org, role="owner"))
    snapshot = Snapshot()

    stolen = other.post(reverse(PAGE), {**fields, "_confirm": "1"})

    assert stolen.status_code == 302 and snapshot.unchanged()
    assert console.post(reverse(PAGE), {**fields, "_confirm": "1"}).status_code == 302
    assert Licence.objects.filter(organisation=org).count() == 18
    again = console.post(reverse(PAGE), {**fields, "_confirm": "1"})
    assert again.status_code == 302 and again.url == reverse(PAGE)
    assert Licence.objects.filter(organisation=org).count() == 18


@pytest.mark.parametrize(("role", "status"), [("finance", 403), ("user", 302)])
def test_roles_without_licences_manage_are_refused(client, org, people, inventory, role, status):
    """Finance reads the console but may not manage licences; end users have no console."""
    client.force_login(UserFactory(organisation=org, role=role))
    snapshot = Snapshot()

    pages = [
        client.get(reverse(PAGE)),
        client.get(reverse("admin:licensing_licence_mass_configuration_sample")),
        client.post(reverse(PAGE), {"token": "0" * 32, "_confirm": "1"}),
    ]

    assert [p.status_code for p in pages] == [status] * 3
    assert snapshot.unchanged()


def test_reviewed_files_never_confirmed_are_deleted_after_a_day(
    console, people, inventory, settings
):
    sample = mass_config.sample_csv().encode()
    for _ in range(2):
        console.post(reverse(PAGE), {"file": upload(sample), "_review": "1"})
    old, recent = Path(settings.MEDIA_ROOT, "mass_config").iterdir()
    now = timezone.now().timestamp()
    for path, age in ((old, 24 * 3600 + 60), (recent, 23 * 3600)):
        os.utime(path, (now - age, now - age))

    discarded = licensing_tasks.discard_unconfirmed_uploads.run(as_of=timezone.now().isoformat())

    assert discarded == 1
    assert not old.exists() and recent.exists()
    assert licensing_tasks.discard_unconfirmed_uploads.run() == 0
