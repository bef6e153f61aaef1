"""Real Celery workers on Redis for the job tests, started and stopped by the tests.

Which Redis: `REDIS_URL` if set; else the machine's Redis at 127.0.0.1:6379 if it answers; else
each test process starts a private `redis-server` (on a free port of 127.0.0.1, no persistence,
stopped when the process ends). Without any of them these tests fail with that explanation, they
do not skip. (Kombu's filesystem broker, `make run`'s default, is no substitute here: the tests
watch the queue and its unacknowledged messages and talk to the workers through remote control.)

Each xdist worker gets its own Redis database (5 for gw0, 6 for gw1, ...), and each test its own
key prefix in it (kombu's `global_keyprefix`: queues, unacked messages, control channels), whose
keys are deleted before and after the test: two test processes never share a queue, even two
test sessions run at once on one Redis. The Celery workers are
`celery -A tests.jobs.worker_app worker` subprocesses pointed at pytest's test database, on the
machine's PostgreSQL (`DATABASE_URL`) or on the embedded one (its socket directory is passed in
the URL's `host` parameter); tests using them are `transaction=True`, so what they create is
committed and visible to the workers.
"""

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis
from celery import Celery
from django.db import connection

from accounts.models import Organisation
from billing.periods import local_midnight
from billing.renewal import first_renewal_at
from licensing.models import Licence
from tests.factories import OrganisationFactory, licence_type

ROOT = Path(__file__).resolve().parents[2]
FIRST_REDIS_DB = 5
QUEUE = "celery"
MACHINE_REDIS = "redis://127.0.0.1:6379/0"
WORKER_START_TIMEOUT = 120


def _xdist_index() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def _redis_url(base: str) -> str:
    db = FIRST_REDIS_DB + _xdist_index()
    assert db < 16, "one Redis database per xdist worker: at most 11 workers"
    return urlunsplit(urlsplit(base)._replace(path=f"/{db}"))


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.exceptions.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_base_url(tmp_path_factory):
    """The Redis the job tests use (see the module docstring)."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    if _answers(MACHINE_REDIS):
        yield MACHINE_REDIS
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail(
            f"No REDIS_URL, no Redis answering at {MACHINE_REDIS} and no `redis-server` to "
            "start: the job tests run real Celery workers on Redis. Install Redis "
            "(apt-get install redis-server) or set REDIS_URL.",
            pytrace=False,
        )
    directory = tmp_path_factory.mktemp("redis")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=(directory / "redis.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 30
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = (directory / "redis.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"redis-server on port {port} did not answer within 30 s:\n{log}")
        time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _database_url() -> str:
    """pytest's test database (with xdist's _gwN suffix), for the worker processes.

    The embedded PostgreSQL is reached through a socket directory, given in the URL's `host`
    query parameter (`telecom.embedded`), which dj-database-url keeps in OPTIONS: it goes back
    there, as a path in the netloc would not survive.
    """
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or s["OPTIONS"].get("host", "")
    port = f":{s['PORT']}" if s["PORT"] else ""
    name = quote(s["NAME"], safe="")
    if host.startswith("/"):
        return f"postgresql://{auth}@{port}/{name}?host={quote(host, safe='/')}"
    return f"postgresql://{auth}@{quote(host, safe='')}{port}/{name}"


class Worker:
    def __init__(self, name: str, process: subprocess.Popen, log: Path):
        self.name, self.process, self.log = name, process, log

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


class Jobs:
    """Starts Celery workers, sends them tasks and watches the Redis queue they share."""

    def __init__(self, tmp_path: Path, redis_base_url: str):
        self.redis_url = _redis_url(redis_base_url)
        self.redis = redis.Redis.from_url(self.redis_url)
        try:
            self.redis.ping()
        except redis.exceptions.ConnectionError as exc:
            pytest.fail(
                f"Redis is not reachable at {self.redis_url} ({exc}). The job tests run "
                "real Celery workers on Redis: start Redis or set REDIS_URL.",
                pytrace=False,
            )
        self.prefix = f"jobs-tests-{uuid.uuid4().hex[:12]}:"
        self.flush()
        self.client = Celery("job-tests", broker=self.redis_url, set_as_current=False)
        self.client.conf.broker_transport_options = {"global_keyprefix": self.prefix}
        self.tmp_path = tmp_path
        self.renew_log = tmp_path / "renewals.log"
        self.renew_log.touch()
        self.workers: list[Worker] = []

    # --- workers ----------------------------------------------------------------------------

    def start(self, *names: str, **env: str) -> list[Worker]:
        """Start one worker process per name (prefork, one pool process) and wait for them."""
        started = []
        for name in names:
            hostname = f"{name}@jobs-gw{_xdist_index()}"
            log = self.tmp_path / f"{name}.log"
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "tests.jobs.worker_app",
                    "worker",
                    "-P",
                    "prefork",
                    "-c",
                    "1",
                    "-n",
                    hostname,
                    "-l",
                    "info",
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                start_new_session=True,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    "DJANGO_SETTINGS_MODULE": "telecom.settings.base",
                    "DATABASE_URL": _database_url(),
                    "REDIS_URL": self.redis_url,
                    "JOBS_TEST_RENEW_LOG": str(self.renew_log),
                    "JOBS_TEST_WORKER": name,
                    "JOBS_TEST_KEYPREFIX": self.prefix,
                    "LOG_LEVEL": "INFO",
                    **env,
                },
            )
            started.append(Worker(hostname, process, log))
        self.workers += started
        pending = {w.name: w for w in started}
        # Generous bounds (a loaded 2-core machine starts a worker in seconds, not minutes):
        # they only turn a hang into a failure that says what it waited for.
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while pending:
            for worker in pending.values():
                if not worker.alive():
                    pytest.fail(f"Celery worker {worker.name} exited:\n{worker.output()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Celery workers {sorted(pending)} did not answer a ping within "
                    f"{WORKER_START_TIMEOUT} s of starting"
                )
            for reply in self.client.control.ping(destination=list(pending), timeout=0.5):
                for name in reply:
                    pending.pop(name, None)
        return started

    def stop_consuming(self, worker: Worker) -> None:
        """The worker takes no new message (what it is running goes on)."""
        replies = self.client.control.cancel_consumer(
            QUEUE, destination=[worker.name], reply=True, timeout=5
        )
        assert replies, f"{worker.name} did not answer cancel_consumer"

    def kill(self, worker: Worker) -> None:
        """SIGKILL the worker and its pool: the machine died."""
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(10)

    def close(self) -> None:
        # The test is over: what a worker would still do no longer matters, so its process
        # group is killed outright (a warm shutdown of the prefork pool costs seconds per
        # worker); its database connection goes with it and the test's keys are deleted below.
        for worker in self.workers:
            if worker.alive():
                os.killpg(worker.process.pid, signal.SIGKILL)
        for worker in self.workers:
            worker.process.wait(15)
        self.flush()
        self.client.close()

    def flush(self) -> None:
        """Delete this test's keys (and only those: the database may be shared)."""
        for key in self.redis.scan_iter(match=f"{self.prefix}*"):
            self.redis.delete(key)

    # --- messages ---------------------------------------------------------------------------

    def send(self, task: str, **kwargs) -> None:
        self.client.send_task(task, kwargs=kwargs)

    def queued(self) -> int:
        return self.redis.llen(self.prefix + QUEUE)

    def unacked(self) -> int:
        return self.redis.hlen(self.prefix + "unacked")

    def wait_until_idle(self, timeout: float = 180) -> None:
        """Until every message sent has been acknowledged (seen three polls in a row)."""
        deadline, quiet = time.monotonic() + timeout, 0
        while quiet < 3:
            if time.monotonic() > deadline:
                outputs = "\n".join(f"--- {w.name}\n{w.output()}" for w in self.workers)
                pytest.fail(
                    f"waited {timeout} s for the workers to acknowledge every message: still "
                    f"{self.queued()} queued, {self.unacked()} unacknowledged\n{outputs}"
                )
            quiet = quiet + 1 if not self.queued() and not self.unacked() else 0
            time.sleep(0.1)

    def wait_for(self, condition, timeout: float = 120, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.05)

    # --- what the workers did ---------------------------------------------------------------

    def renewed(self) -> list[tuple[str, int, str, str]]:
        """(worker, pool pid, organisation id, period start) of every period a worker renewed
        (or began to: a line written before a crash stands for work that was rolled back)."""
        return [tuple(line.split()) for line in self.renew_log.read_text().splitlines()]

    def renewed_by(self) -> dict[str, list[tuple[str, str]]]:
        """(organisation id, period start) by worker name."""
        done = defaultdict(list)
        for worker, _pid, organisation_id, start in self.renewed():
            done[worker].append((organisation_id, start))
        return dict(done)


@pytest.fixture
def jobs(transactional_db, tmp_path, redis_base_url):
    harness = Jobs(tmp_path, redis_base_url)
    yield harness
    harness.close()


AS_OF = "2026-12-01T06:00:00+00:00"
PERIODS = [dt.date(2026, 11, 1), dt.date(2026, 12, 1)]  # both due as of AS_OF


@pytest.fixture
def due_organisations():
    """`due_organisations(n)`: n organisations with 2 licences each, two periods due."""

    def make(count: int) -> list[Organisation]:
        organisations = OrganisationFactory.create_batch(count, billing_anchor=dt.date(2026, 10, 1))
        for organisation in organisations:
            organisation.next_renewal_at = first_renewal_at(organisation)
        Organisation.objects.bulk_update(organisations, ["next_renewal_at"])
        user_licence = licence_type("user_standard")
        signed_up = local_midnight(dt.date(2026, 10, 1), "Europe/Paris")
        Licence.objects.bulk_create(  # held since sign-up: both periods bill them
            Licence(organisation=organisation, licence_type=user_licence, purchased_at=signed_up)
            for organisation in organisations
            for _ in range(2)
        )
        return organisations

    return make
