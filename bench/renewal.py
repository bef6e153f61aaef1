"""Renewal benchmark: 10,000 organisations with 200,000 active licences due on the same day.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telecom REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/renewal.py [--orgs 10000 --licences 200000 --workers 2 --runs 3]

What it does, in a dedicated database (`telecom_bench` on DATABASE_URL's server, created and
migrated here; its data is replaced on every run) and a dedicated Redis db (`--redis-db`, flushed):

1. generates the organisations (EUR, GBP and USD; Paris, London and New York; all renewing on
   1 Dec 2026) and their licences, four licence types each, with set-based INSERT … SELECT;
2. profiles the renewal in this process: statements for one batch (rolled back afterwards);
3. times the floor: ONE set-based statement inserting the same invoice lines (INSERT … SELECT …
   GROUP BY organisation, licence type) into a scratch table, best of three;
4. starts `--workers` real Celery worker processes (`celery -A telecom worker -c 1`) on Redis,
   sends `billing.renewals_dispatch` as beat does, and times until every organisation is renewed
   and every task acknowledged: the dispatch fans out `billing.renewals_work` tasks, which share
   the due organisations through SKIP LOCKED (workers are started before the clock starts);
5. checks the result (one invoice per organisation, the same lines and total as the floor) and
   prints the figures; with `--runs N` it resets the invoices and renews again, N times.
   Targets: within 60 s, and within 5× the floor.

Not part of the test suite.
"""

import argparse
import functools
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
WORKER_LOG = Path(tempfile.gettempdir()) / "bench-renewal-workers.log"
AS_OF = "2026-12-01T06:00:00+00:00"  # after local midnight in Paris, London and New York
# (licence type code, share of each organisation's licences out of 10)
MIX = [("user_standard", 6), ("phone_system", 2), ("call_recording", 1), ("device_ip_phone", 1)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--licences", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--database", default="telecom_bench")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument(
        "--batch-size", type=int, default=1000, help="RENEWAL_BATCH_SIZE of the workers"
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="renew the same data this many times (best is kept)"
    )
    return parser.parse_args()


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + path))


def setup_environment(args) -> str:
    if "DATABASE_URL" not in os.environ or "REDIS_URL" not in os.environ:
        sys.exit("Set DATABASE_URL (any database on the server to use) and REDIS_URL.")
    import psycopg

    server = os.environ["DATABASE_URL"]
    maintenance = with_path(server, "postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [args.database]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.database}"')
    database_url = with_path(server, args.database)
    redis_url = with_path(os.environ["REDIS_URL"], str(args.redis_db))
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="telecom.settings.base",
        RENEWAL_FANOUT=str(args.workers),
        RENEWAL_BATCH_SIZE=str(args.batch_size),
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return redis_url


def generate(args) -> None:
    from django.core.management import call_command
    from django.db import connection

    from licensing.catalogue import load_catalogue
    from licensing.models import LicenceType

    call_command("migrate", verbosity=0)
    if not LicenceType.objects.exists():
        load_catalogue()
    types = dict(LicenceType.objects.values_list("code", "pk"))
    shares = sum(share for _, share in MIX)
    # slot k of 10 → licence type, so each organisation gets the mix in the same proportions
    slot_case = (
        "CASE "
        + " ".join(
            f"WHEN (g %% {shares}) < {sum(s for _, s in MIX[: i + 1])} THEN {types[code]}"
            for i, (code, _) in enumerate(MIX)
        )
        + " END"
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor_lines")
        cursor.execute("TRUNCATE accounts_organisation CASCADE")
        # Invoice numbers start with the organisation id's first six hex digits, so give every
        # organisation distinct ones (random UUIDs would collide at this scale).
        cursor.execute(
            """
            INSERT INTO accounts_organisation (
                id, name, country, currency, timezone, plan, billing_frequency, licence_policy,
                billing_anchor, payment_method_kind, payment_method_reference,
                calling_credit_cap, tax_rate, last_invoice_sequence, created_at,
                default_licence_type_id, next_renewal_at)
            SELECT (lpad(to_hex(o), 6, '0') || substr(md5(o::text), 1, 26))::uuid,
                   'Bench organisation ' || o, c.country, c.currency, c.tz, 'connect', 'monthly',
                   'auto_purchase', DATE '2026-11-01', 'card', 'pm_' || o, 250.00, c.tax, 0,
                   now(), %s, (TIMESTAMP '2026-12-01 00:00' AT TIME ZONE c.tz)
            FROM generate_series(1, %s) AS o
            JOIN (VALUES (0, 'FR', 'EUR', 'Europe/Paris', 0.2000),
                         (1, 'GB', 'GBP', 'Europe/London', 0.2000),
                         (2, 'US', 'USD', 'America/New_York', 0.0000))
                 AS c(k, country, currency, tz, tax) ON c.k = o %% 3
            """,
            [types["user_standard"], args.orgs],
        )
        cursor.execute(
            f"""
            WITH numbered AS (
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM accounts_organisation)
            INSERT INTO licensing_licence (
                id, status, number_changes_used, numbers_received, purchased_at, organisation_id,
                licence_type_id)
            SELECT gen_random_uuid(), 'active', 0, 0, TIMESTAMP WITH TIME ZONE '2026-11-01',
                   numbered.id, {slot_case}
            FROM numbered
            CROSS JOIN LATERAL generate_series(
                1, %(per)s + CASE WHEN numbered.n < %(extra)s THEN 1 ELSE 0 END) AS g
            """,
            {"per": args.licences // args.orgs, "extra": args.licences % args.orgs},
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def profile(args) -> tuple[int, int]:
    """Statements for one batch of organisations, counted in this process and rolled back."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from billing.renewal import renewals_run
    from telecom.celery import as_of_from_iso

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            done = renewals_run(at=as_of_from_iso(AS_OF), limit=args.batch_size)
            raise Rollback
    except Rollback:
        pass
    # Less the SAVEPOINT and RELEASE that nesting in this rolled-back transaction adds.
    statements = [q for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    return len(statements), done


def floor(repeat: int = 3) -> tuple[float, int]:
    """ONE set-based statement: the renewal's invoice lines, grouped, into a scratch table.

    The best of `repeat` runs, each into a new table, so the floor is not a slow outlier.
    """
    from django.db import connection, transaction

    best = None
    for _ in range(repeat):
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_floor_lines")
            cursor.execute(
                """CREATE TABLE bench_floor_lines (organisation_id uuid, licence_type_id bigint,
                       quantity integer, unit_price numeric(12, 2), amount numeric(12, 2))"""
            )
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO bench_floor_lines
                SELECT l.organisation_id, l.licence_type_id, count(*), p.monthly,
                       count(*) * p.monthly
                FROM licensing_licence l
                JOIN accounts_organisation o ON o.id = l.organisation_id
                JOIN licensing_licenceprice p
                  ON p.licence_type_id = l.licence_type_id AND p.currency = o.currency
                WHERE l.status = 'active' AND o.next_renewal_at <= %s AND o.closed_at IS NULL
                GROUP BY l.organisation_id, l.licence_type_id, p.monthly
                """,
                [AS_OF],
            )
            rows = cursor.rowcount
        seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)
    return best, rows


def reset() -> None:
    """Back to every organisation due and nothing billed, for another run."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE billing_invoice, accounts_auditevent CASCADE")
        cursor.execute(
            """UPDATE accounts_organisation SET last_invoice_sequence = 0,
                   next_renewal_at = TIMESTAMP '2026-12-01 00:00' AT TIME ZONE timezone"""
        )
        cursor.execute("VACUUM ANALYZE accounts_organisation")


def start_workers(count: int) -> list[subprocess.Popen]:
    workers = []
    for index in range(1, count + 1):
        workers.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "celery"),
                    "-A",
                    "telecom",
                    "worker",
                    "-c",
                    "1",
                    "-P",
                    "prefork",
                    "-n",
                    f"bench{index}@%h",
                    "-l",
                    "warning",
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=os.environ.copy(),
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=WORKER_LOG.open("a"),
            )
        )
    from telecom.celery import app

    names = {f"bench{i}@{os.uname().nodename}" for i in range(1, count + 1)}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5)
        if names <= {name for reply in replies for name in reply}:
            return workers
    stop_workers(workers)
    sys.exit(f"The Celery workers did not answer within 60 s: see {WORKER_LOG}")


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def run_jobs(redis, sample) -> float:
    """Send the dispatch as beat does; time until all is renewed and every task acknowledged."""
    from billing.renewal import renewals_due
    from telecom.celery import app, as_of_from_iso

    at = as_of_from_iso(AS_OF)
    started = time.perf_counter()
    app.send_task("billing.renewals_dispatch", kwargs={"as_of": AS_OF})
    for tick in itertools.count():
        time.sleep(0.01)
        if tick % 20 == 0:
            sample()
        # Redis first: the database is asked only once the tasks are done (acknowledged late,
        # when their work has committed), so the clock does not compete with the workers.
        if redis.llen("celery") or redis.hlen("unacked"):
            continue
        if not renewals_due(at=at).exists():
            return time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux); 0 if it is gone or unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_side(workers: list[subprocess.Popen], seen: dict | None = None) -> dict:
    """CPU seconds used so far by the Celery workers (with their pools) and by the PostgreSQL
    backends of the bench database: unlike wall time, barely skewed by other load. Celery closes
    database connections after each task, so backends are sampled while they live (`seen`)."""
    from django.db import connection

    worker_pids = []
    for worker in workers:
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        worker_pids += [worker.pid, *map(int, children.read_text().split())]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        backend_pids = [pid for (pid,) in cursor.fetchall()]
    seen = seen or {"Celery workers": {}, "PostgreSQL": {}}
    for side, pids in (("Celery workers", worker_pids), ("PostgreSQL", backend_pids)):
        for pid in pids:
            seen[side][pid] = max(seen[side].get(pid, 0.0), _cpu_seconds(pid))
    return seen


def cpu_used(before: dict, after: dict) -> str:
    return ", ".join(
        f"{side} {sum(t - before[side].get(pid, 0.0) for pid, t in pids.items()):.1f} s"
        for side, pids in after.items()
    )


def check(floor_rows: int) -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT (SELECT count(*) FROM billing_invoice),
                      (SELECT count(DISTINCT organisation_id) FROM billing_invoice),
                      (SELECT count(*) FROM billing_invoiceline),
                      (SELECT sum(subtotal) FROM billing_invoice),
                      (SELECT sum(amount) FROM bench_floor_lines),
                      (SELECT count(*) FROM accounts_organisation)"""
        )
        invoices, organisations, lines, subtotal, floor_total, all_orgs = cursor.fetchone()
    problems = []
    if not invoices == organisations == all_orgs:
        problems.append(f"{invoices} invoices for {organisations} of {all_orgs} organisations")
    if lines != floor_rows or subtotal != floor_total:
        problems.append(f"lines {lines} / {floor_rows}, amounts {subtotal} / {floor_total}")
    if problems:
        sys.exit("Result check failed: " + "; ".join(problems))
    return invoices, lines


def main() -> None:
    args = parse_args()
    redis_url = setup_environment(args)
    import redis as redis_client

    redis = redis_client.Redis.from_url(redis_url)
    try:
        redis.ping()
    except redis_client.exceptions.ConnectionError:
        sys.exit(f"Redis is not reachable at {redis_url}.")
    redis.flushdb()

    print(
        f"database {args.database}; Redis db {args.redis_db}; {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine skews the figures)"
    )
    started = time.perf_counter()
    generate(args)
    print(
        f"generated {args.orgs} organisations, {args.licences} licences "
        f"in {time.perf_counter() - started:.1f} s"
    )

    statements, profiled = profile(args)
    print(
        f"profile: {statements} statements for a batch of {profiled} organisations "
        f"= {statements / profiled:.3f} per organisation (renewed in this process, rolled back)"
    )

    floor_seconds, floor_rows = floor()
    print(
        f"floor: one INSERT … SELECT … GROUP BY, {floor_rows} lines in {floor_seconds:.3f} s "
        "(best of 3)"
    )

    from django.db import connections

    connections.close_all()
    WORKER_LOG.write_text("")
    workers = start_workers(args.workers)
    times = []
    try:
        for run in range(args.runs):
            if run:
                reset()
                connections.close_all()
            cpu_before = cpu_by_side(workers)
            cpu_after = cpu_by_side(workers)
            seconds = run_jobs(redis, sample=functools.partial(cpu_by_side, workers, cpu_after))
            cpu = cpu_used(cpu_before, cpu_by_side(workers, cpu_after))
            invoices, lines = check(floor_rows)
            times.append(seconds)
            print(
                f"renewal run {run + 1}: {invoices} invoices ({lines} lines) by {args.workers} "
                f"Celery worker processes in {seconds:.2f} s = {invoices / seconds:,.0f} "
                f"invoices/s; CPU: {cpu}; load average {os.getloadavg()[0]:.1f}"
            )
    finally:
        stop_workers(workers)
        redis.flushdb()
    best = min(times)
    print(
        f"best: {best:.2f} s = {invoices / best:,.0f} invoices/s, "
        f"{best / floor_seconds:.1f}× the floor "
        f"(targets: ≤ 60 s {'met' if best <= 60 else 'MISSED'}, "
        f"≤ 5× the floor {'met' if best <= 5 * floor_seconds else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
