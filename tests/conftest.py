import datetime as dt
from pathlib import Path

import hypothesis
import pytest
import time_machine
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import OrganisationFactory, StaffFactory, UserFactory, token_for

# Property tests check results, not speed: Hypothesis's 200 ms deadline per example failed a
# correct proration test on a loaded machine. No test depends on the machine's load.
hypothesis.settings.register_profile("suite", deadline=None)
hypothesis.settings.load_profile("suite")


def pytest_addoption(parser):
    parser.addoption(
        "--fake-today",
        metavar="YYYY-MM-DD",
        help="run with the clock moved to 09:00 UTC on this day (and going on from there), to "
        "show that no test depends on today's date: every test that involves dates pins its "
        "own clock with time_machine, so the result is the same on any day",
    )


def pytest_configure(config):
    if day := config.getoption("--fake-today"):
        start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(9), tzinfo=dt.UTC)
        traveller = time_machine.travel(start, tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)
    # WhiteNoise serves STATIC_ROOT, which `collectstatic` fills for production; tests serve
    # static files from the apps, and an empty root spares a warning on every request.
    settings.STATIC_ROOT.mkdir(exist_ok=True)


BROWSER_TESTS = Path(__file__).resolve().parent / "browser"
JOB_TESTS = Path(__file__).resolve().parent / "jobs"


def pytest_collection_modifyitems(config, items):
    """Markers by kind, so that no test has to remember them:

    - `slow`: the browser tests (Chromium against a live server) and the tests that start real
      Celery workers (the `jobs` fixture); `make test PYTEST_ARGS='-m "not slow"'` runs the rest;
    - `concurrency`: the job tests (`tests/jobs`: batches under SKIP LOCKED, real workers) and
      the tests whose transactions commit (`transaction=True`: concurrent transactions), outside
      the browser tests; `.ci/run` runs them again on the machine's PostgreSQL and Redis.
    """
    for item in items:
        in_browser = BROWSER_TESTS in item.path.parents
        workers = "jobs" in getattr(item, "fixturenames", ())
        db = item.get_closest_marker("django_db")
        commits = db is not None and db.kwargs.get("transaction", False)
        if in_browser or workers:
            item.add_marker(pytest.mark.slow)
        if not in_browser and (workers or commits or JOB_TESTS in item.path.parents):
            item.add_marker(pytest.mark.concurrency)


@pytest.fixture(autouse=True)
def _empty_cache():
    from django.core.cache import cache

    cache.clear()


def _ensure_catalogue():
    from licensing.catalogue import load_catalogue
    from licensing.models import LicenceType

    if not LicenceType.objects.exists():
        load_catalogue()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """A reused test database may have been left flushed by a transactional test."""
    with django_db_blocker.unblock():
        _ensure_catalogue()


@pytest.fixture(autouse=True)
def _catalogue_after_flush(request):
    """Transactional tests (races) start after another may have flushed every table."""
    marker = request.node.get_closest_marker("django_db")
    if (marker and marker.kwargs.get("transaction")) or "live_server" in request.fixturenames:
        request.getfixturevalue("transactional_db")
        _ensure_catalogue()


@pytest.fixture
def organisation(db):
    return OrganisationFactory()


@pytest.fixture
def owner(organisation):
    return UserFactory(organisation=organisation, role="owner", email="owner@org-a.example")


@pytest.fixture
def admin_member(organisation):
    return UserFactory(organisation=organisation, role="admin")


@pytest.fixture
def finance_member(organisation):
    return UserFactory(organisation=organisation, role="finance")


@pytest.fixture
def user_member(organisation):
    return UserFactory(organisation=organisation, role="user")


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(name="Other Org B")


@pytest.fixture
def other_owner(other_organisation):
    return UserFactory(organisation=other_organisation, role="owner", email="owner@org-b.example")


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def api_client_for():
    """`api_client_for(user)` → an APIClient authenticated with the user's token."""

    def make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
        return client

    return make


@pytest.fixture
def anon_client():
    return APIClient()
