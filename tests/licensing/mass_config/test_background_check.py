"""A large mass-configuration file is checked by a job (licensing/mass_config/checks.py): the
upload returns at once, the page follows the check's progress, then shows the same review and
confirmation as a small file's."""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from billing.models import Invoice
from licensing import mass_config
from licensing.admin.mass_config import CHECK_TASK, render_review
from licensing.mass_config import planning
from licensing.mass_config.checks import mass_config_check_run
from licensing.models import Licence, MassConfigurationCheck
from tests.factories import OrganisationFactory, UserFactory
from tests.licensing.mass_config.test_mass_config import NOV_1, Snapshot, csv_bytes

pytestmark = pytest.mark.django_db
PAGE = "admin:licensing_licence_mass_configuration"


@pytest.fixture(autouse=True)
def small_threshold(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MASS_CONFIG_BACKGROUND_ROWS = 3  # the four-row sample goes to the background
    with time_machine.travel(NOV_1, tick=False):
        yield


@pytest.fixture
def console(client, admin):
    client.force_login(admin)
    return client


def uploaded(console, data: bytes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = console.post(
            reverse(PAGE),
            {"file": SimpleUploadedFile("big.csv", data, content_type="text/csv"), "_review": "1"},
        )
    assert response.status_code == 302, response.content[:300]
    check = MassConfigurationCheck.objects.get()
    assert response.url == reverse(
        "admin:licensing_licence_mass_configuration_check", args=[check.pk]
    )
    assert len(callbacks) == 1  # the job is queued once the upload's transaction commits
    return check


def run_job(check) -> MassConfigurationCheck:
    """What the worker does (licensing.tasks.mass_config_check)."""
    return mass_config_check_run(check_id=check.pk, render=render_review)


def test_the_upload_returns_at_once_and_the_page_follows_the_check(
    console, org, people, inventory, django_capture_on_commit_callbacks
):
    snapshot = Snapshot()
    check = uploaded(console, mass_config.sample_csv().encode(), django_capture_on_commit_callbacks)
    url = reverse("admin:licensing_licence_mass_configuration_check", args=[check.pk])

    waiting = console.get(url).content.decode()
    assert 'id="mass-config-progress"' in waiting and "Checking big.csv" in waiting
    assert '<meta http-equiv="refresh" content="2">' in waiting
    assert 'id="mass-config-confirm"' not in waiting

    done = run_job(check)
    assert (done.status, done.ok, done.rows, done.checked_rows) == ("done", True, 4, 4)
    page = console.get(url).content.decode()
    assert 'id="mass-config-changes"' in page and "refresh" not in page
    assert '<td class="num" id="quote-total">180.80 USD</td>' in page
    assert snapshot.unchanged()  # checking writes nothing but the check itself

    token = re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1)
    applied = console.post(reverse(PAGE), {"token": token, "_confirm": "1"})
    assert applied.status_code == 302
    assert Licence.objects.filter(organisation=org).count() == 18
    assert Invoice.objects.get(organisation=org, kind="purchase").subtotal == Decimal("180.80")


def test_a_file_with_errors_shows_them_without_a_confirmation(
    console, people, inventory, django_capture_on_commit_callbacks
):
    rows = [f"10{i},,nobody{i}@acme.example" for i in range(5)]
    check = uploaded(console, csv_bytes(*rows), django_capture_on_commit_callbacks)

    assert run_job(check).ok is False
    page = console.get(
        reverse("admin:licensing_licence_mass_configuration_check", args=[check.pk])
    ).content.decode()
    assert 'id="mass-config-errors"' in page and 'data-code="unknown_user"' in page
    assert 'id="mass-config-confirm"' not in page
    assert 'id="mass-config-upload"' in page  # upload a corrected file


def test_progress_is_reported_as_rows_are_checked(org, people, inventory, monkeypatch):
    monkeypatch.setattr(planning, "PROGRESS_EVERY", 1)
    seen = []

    mass_config.mass_config_validate(
        organisation=org,
        file_bytes=mass_config.sample_csv().encode(),
        progress=lambda done, total: seen.append((done, total)),
    )

    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4)]


def test_a_finished_check_is_not_run_again(
    console, people, inventory, django_capture_on_commit_callbacks
):
    check = uploaded(console, mass_config.sample_csv().encode(), django_capture_on_commit_callbacks)
    first = run_job(check)

    again = run_job(check)  # a duplicated or redelivered job

    assert again.report_html == first.report_html and again.finished_at == first.finished_at


def test_another_session_or_organisation_cannot_see_the_check(
    console, admin, people, inventory, django_capture_on_commit_callbacks
):
    check = uploaded(console, mass_config.sample_csv().encode(), django_capture_on_commit_callbacks)
    run_job(check)
    url = reverse("admin:licensing_licence_mass_configuration_check", args=[check.pk])

    colleague = Client()
    colleague.force_login(UserFactory(organisation=admin.organisation, role="admin"))
    stranger = Client()
    stranger.force_login(UserFactory(organisation=OrganisationFactory(), role="owner"))

    assert colleague.get(url).status_code == 404  # only the uploading session confirms
    assert stranger.get(url).status_code == 404


def test_the_job_is_the_one_the_worker_knows():
    from telecom.celery import app

    app.loader.import_default_modules()
    assert CHECK_TASK in app.tasks


def test_old_checks_are_discarded_by_the_daily_job(
    console, people, inventory, settings, django_capture_on_commit_callbacks
):
    import datetime as dt

    from licensing import tasks

    check = uploaded(console, mass_config.sample_csv().encode(), django_capture_on_commit_callbacks)
    [stored] = Path(settings.MEDIA_ROOT, "mass_config").iterdir()
    os.utime(stored, (NOV_1.timestamp(), NOV_1.timestamp()))  # the file system's clock is real
    later = (NOV_1 + dt.timedelta(days=1, minutes=1)).isoformat()

    assert tasks.discard_unconfirmed_uploads.run(as_of=later) == 2  # the file and the check
    assert not MassConfigurationCheck.objects.filter(pk=check.pk).exists()
