"""Re-run issue 14's attacks against a live gunicorn (4 workers, DEBUG off) and print figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telecom REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/attacks.py [--port 8765 --workers 4]

In a dedicated database (`telecom_bench_attacks` on DATABASE_URL's server, created and migrated
here; its organisations emptied on every run) the script creates one organisation with an owner,
starts `gunicorn telecom.wsgi` with `--workers` processes and then:

1. **Throttles with forged headers**: 30 `POST /api/v1/auth/token/` (wrong password) and 30
   `POST /api/v1/signup/` (invalid body), each with a different `X-Forwarded-For`; counts the
   429s (the throttles count in the cache: give REDIS_URL so that every worker shares them).
2. **NUL sweep**: every route of the URL resolver, its parameters filled with `a1`, fetched with
   `?search=a%00b` (the API with the owner's token, the console and webapp signed in); counts
   the statuses (every one should be 400).
3. **Four large uploads at once** to the console's mass configuration while `/healthz/` is polled
   every 50 ms: four 200 MB bodies (refused from their Content-Length), then four 4 MB files
   of 190,000 rows (within the size limit, over the row limit); prints each upload's status,
   its time and what the page said, and the health check's latency (median, max).
"""

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery-staple"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database", default="telecom_bench_attacks")
    return parser.parse_args()


def setup(args):
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL (any database on the PostgreSQL server to use).")
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [args.database]
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{args.database}"')
    os.environ.update(
        DATABASE_URL=urlunsplit(parts._replace(path="/" + args.database)),
        DJANGO_SETTINGS_MODULE="telecom.settings",
        LOG_LEVEL="ERROR",
        DEBUG="false",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from licensing.catalogue import load_catalogue
    from licensing.models import LicenceType

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    if not LicenceType.objects.exists():
        load_catalogue()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_organisation, accounts_user CASCADE")
    from accounts.models import Organisation, User

    org = Organisation.objects.create(
        name="Bench", country="US", currency="USD", timezone="America/New_York",
        billing_anchor="2026-01-01",
    )  # fmt: skip
    owner = User.objects.create_user(
        email="owner@bench.example", password=PASSWORD, organisation=org, role="owner"
    )
    from accounts.api_tokens import api_token_create

    return owner, api_token_create(user=owner)[1]


def start_server(args):
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "telecom.wsgi", "--bind", f"127.0.0.1:{args.port}",
         "--workers", str(args.workers), "--timeout", "30", "--log-level", "warning"],
        cwd=ROOT, env=os.environ.copy(),
    )  # fmt: skip
    for _ in range(100):
        try:
            request(args.port, "GET", "/healthz/")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not start")


def request(port, method, path, body=b"", headers=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response
    finally:
        conn.close()


def throttles(port):
    print("1. Throttles with forged X-Forwarded-For (30 requests each)")
    for path, body in (
        ("/api/v1/auth/token/", b'{"email": "nobody@bench.example", "password": "guess"}'),
        ("/api/v1/signup/", b'{"organisation_name": "x"}'),
    ):
        statuses = [
            request(port, "POST", path, body, {
                "Content-Type": "application/json", "X-Forwarded-For": f"198.51.100.{i}"
            })[0]
            for i in range(30)
        ]  # fmt: skip
        counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        print(f"   {path}: {counts}  (429s: {statuses.count(429)}, first at #{first(statuses)})")


def first(statuses):
    return statuses.index(429) + 1 if 429 in statuses else None


def routes():
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    group = re.compile(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>")
    paths = set()
    for route in walk(get_resolver().url_patterns, ""):
        if "format" in route or "static" in route or "media" in route:
            continue
        path = group.sub("a1", route.replace("^", "").replace("$", "")).replace("\\", "")
        paths.add("/" + path)
    return sorted(paths)


def session_cookie(port):
    _, body, response = request(port, "GET", "/admin/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode())[1]
    cookie = response.getheader("Set-Cookie").split(";")[0]
    form = f"username=owner%40bench.example&password={PASSWORD}&csrfmiddlewaretoken={csrf}"
    _, _, signed = request(port, "POST", "/admin/login/", form.encode(), {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
        "Referer": f"http://127.0.0.1:{port}/admin/login/",
    })  # fmt: skip
    return "; ".join(c.split(";")[0] for c in signed.headers.get_all("Set-Cookie") or [])


def nul_sweep(port, token, cookie):
    print("2. NUL sweep (?search=a%00b on every route)")
    statuses = {}
    paths = routes()
    for path in paths:
        headers = {"Authorization": f"Token {token}"} if path.startswith("/api/") else {
            "Cookie": cookie}  # fmt: skip
        status = request(port, "GET", path + "?search=a%00b", headers=headers)[0]
        statuses.setdefault(status, []).append(path)
    print(f"   {len(paths)} routes: " + ", ".join(f"{len(v)} × {k}" for k, v in statuses.items()))
    for status, where in statuses.items():
        if status != 400:
            print(f"   not 400 ({status}): {where[:8]}")


def big_csv(rows=190_000):
    lines = ["Ext Key,Number,User"]
    lines += [f"{100000 + i},,u{i}@b.io" for i in range(rows)]  # about 4 MB
    return ("\r\n".join(lines) + "\r\n").encode()


def upload(port, cookie, csrf, size, data, results):
    boundary = "benchboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f'{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + size + len(tail)
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    status = None
    try:
        conn.putrequest("POST", "/admin/licensing/licence/mass-configuration/")
        for name, value in {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(length), "Cookie": cookie,
            "Referer": f"http://127.0.0.1:{port}/admin/",
        }.items():  # fmt: skip
            conn.putheader(name, value)
        conn.endheaders()
        try:
            conn.send(head)
            chunk = data if data is not None else b"0" * (1024 * 1024)
            sent = 0
            while sent < size:
                piece = chunk[: size - sent] if data is None else chunk[sent : sent + (1 << 20)]
                conn.send(piece)
                sent += len(piece)
            conn.send(tail)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed without reading the body
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        said = next((w for w in ("extension rows", "larger than") if w in text), "")
        status = f"{response.status} {said}".strip()
    except (OSError, http.client.HTTPException) as exc:
        status = type(exc).__name__
    finally:
        conn.close()
    results.append((status, time.perf_counter() - start))


def health_poll(port, stop, latencies):
    while not stop.is_set():
        start = time.perf_counter()
        try:
            request(port, "GET", "/healthz/", timeout=30)
            latencies.append((time.perf_counter() - start) * 1000)
        except OSError:
            latencies.append(float("inf"))
        time.sleep(0.05)


def uploads(port, cookie):
    print("3. Four large uploads at once, /healthz/ polled every 50 ms")
    _, body, _ = request(port, "GET", "/admin/licensing/licence/mass-configuration/",
                         headers={"Cookie": cookie})  # fmt: skip
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode())
    csrf = match[1] if match else ""
    csv = big_csv()
    for label, size, data in (
        ("200 MB bodies", 200 * 1024 * 1024, None),
        (f"{len(csv) / 1e6:.1f} MB files of 190,000 rows", len(csv), csv),
    ):
        stop, latencies, results = threading.Event(), [], []
        poller = threading.Thread(target=health_poll, args=(port, stop, latencies))
        poller.start()
        time.sleep(0.3)
        threads = [
            threading.Thread(target=upload, args=(port, cookie, csrf, size, data, results))
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(0.3)
        stop.set()
        poller.join()
        finite = [v for v in latencies if v != float("inf")]
        print(
            f"   {label}: statuses {[r[0] for r in results]}, "
            f"times {', '.join(f'{r[1]:.2f} s' for r in results)}; /healthz/ "
            f"{len(latencies)} polls, median {statistics.median(finite):.1f} ms, "
            f"max {max(finite):.1f} ms, failed {len(latencies) - len(finite)}"
        )


def main():
    args = parse_args()
    _owner, token = setup(args)
    server = start_server(args)
    try:
        shared = "Redis" if os.environ.get("REDIS_URL") else "per process (no REDIS_URL)"
        print(f"gunicorn, {args.workers} workers, DEBUG off, cache {shared}")
        throttles(args.port)
        from django.core.cache import cache

        cache.clear()  # the sign-in below is not held by the guesses above
        cookie = session_cookie(args.port)
        nul_sweep(args.port, token, cookie)
        uploads(args.port, cookie)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
