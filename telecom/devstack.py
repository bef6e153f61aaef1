"""`make run`: the whole product on one machine, with demo data.

    python -m telecom.devstack

Reads `.env` (or the file named by TELECOM_ENV_FILE) without overriding the environment. With no
DATABASE_URL it starts the embedded PostgreSQL once, under `$TELECOM_VAR_DIR/pgdata` (default
`var/`), and hands its URL to every child; with no REDIS_URL the settings pick kombu's filesystem
broker under `var/broker`. Then it migrates, collects static files, loads the demo data and runs
gunicorn, a Celery worker, Celery beat and, unless EMAIL_URL names a mail server, a local SMTP
server (telecom/mailsink.py: every message kept under `var/mail/`, a line printed for each) until
Ctrl-C or SIGTERM, when it stops them (SIGTERM,
then SIGKILL after STOP_TIMEOUT seconds) and the embedded PostgreSQL, and exits 0. If a child dies
on its own, the others are stopped and the exit status is 1.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from telecom.embedded import (
    default_data_dir,
    embedded_server_release,
    use_embedded_database_if_unset,
)

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 20
DEMO_PASSWORD = "demo-password-1"
DEMO_LOGINS = [
    ("owner", "owner@acme.example"),
    ("admin", "admin@acme.example"),
    ("finance", "finance@acme.example"),
    ("user", "user@acme.example"),
    ("platform staff", "staff@telecom.example"),
]


_shutdown = {"hurry": False}
_libc = ctypes.CDLL(None) if sys.platform == "linux" else None


@dataclass
class Child:
    name: str
    process: subprocess.Popen


def main() -> int:
    load_env_file(Path(os.environ.get("TELECOM_ENV_FILE", BASE_DIR / ".env")))
    var_dir = Path(os.environ.get("TELECOM_VAR_DIR", BASE_DIR / "var")).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TELECOM_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    port = int(os.environ.get("PORT", "8000"))
    if not _port_is_free(port):
        _say(f"port {port} is already in use; set PORT to another one")
        return 1

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)

    mail_port = None
    if not os.environ.get("EMAIL_URL"):
        mail_port = int(os.environ.get("MAIL_PORT", "1025"))
        if not _port_is_free(mail_port):
            _say(f"port {mail_port} is already in use; set MAIL_PORT to another one")
            return 1
        os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{mail_port}"

    pg_data = None
    children: list[Child] = []
    try:
        if not os.environ.get("DATABASE_URL"):
            _say(f"starting the embedded PostgreSQL in {default_data_dir()}")
            pg_data = use_embedded_database_if_unset()

        _manage("migrate", "--noinput")
        _manage("collectstatic", "--noinput", "--verbosity", "0")
        _manage("seed_demo")

        children = _start_children(port, mail_port)
        if _wait_until_listening(port, children):
            _print_banner(port, embedded_db=pg_data is not None)
        dead = _wait_for_first_exit(children)
        _say(f"{dead.name} exited unexpectedly (status {dead.process.returncode}); stopping")
        return 1
    except KeyboardInterrupt:
        _say("stopping")
        return 0
    except subprocess.CalledProcessError as error:
        _say(f"{' '.join(error.cmd[1:])} failed (status {error.returncode})")
        return 1
    finally:
        _stop_children(children)
        if pg_data is not None:
            _stop_embedded_database(pg_data)


def load_env_file(path: Path) -> None:
    """Set KEY=VALUE lines of `path` (if it exists) that the environment does not already set."""
    if not path.is_file():
        return
    for raw_line in path.read_text().splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key, value)


def _start_children(port: int, mail_port: int | None) -> list[Child]:
    python = sys.executable
    commands = {
        "web": [
            python, "-m", "gunicorn", "telecom.wsgi",
            "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--access-logfile", "-", "--graceful-timeout", "10",
        ],
        "worker": [python, "-m", "celery", "-A", "telecom", "worker", "-l", "info",
                   "--concurrency", "2"],
        "beat": [python, "-m", "celery", "-A", "telecom", "beat", "-l", "info",
                 "--pidfile", str(Path(os.environ["TELECOM_VAR_DIR"]) / "celerybeat.pid")],
    }  # fmt: skip
    if mail_port is not None:
        mail_dir = Path(os.environ["TELECOM_VAR_DIR"]) / "mail"
        commands["mail"] = [python, "-m", "telecom.mailsink", "--port", str(mail_port),
                            "--dir", str(mail_dir)]  # fmt: skip
    children = []
    for name, command in commands.items():
        # Own process group: Ctrl-C reaches only us, and we stop the children in order; the group
        # also lets us SIGKILL a child together with its own workers if it hangs.
        process = subprocess.Popen(
            command, cwd=BASE_DIR, process_group=0, preexec_fn=_die_with_parent
        )
        children.append(Child(name, process))
    return children


def _wait_until_listening(port: int, children: list[Child], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.process.poll() is not None for child in children):
            return False
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.5)
    _say(f"the web server is not listening on port {port} after {timeout:.0f} s")
    return False


def _wait_for_first_exit(children: list[Child]) -> Child:
    while True:
        for child in children:
            if child.process.poll() is not None:
                return child
        time.sleep(0.5)


def _stop_children(children: list[Child]) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _hurry)  # no exceptions while shutting down; a second Ctrl-C kills
    running = [child for child in children if child.process.poll() is None]
    for child in running:
        _say(f"stopping {child.name}")
        child.process.terminate()  # the leader only: it stops its own workers gracefully
    deadline = time.monotonic() + STOP_TIMEOUT
    while any(child.process.poll() is None for child in running):
        if _shutdown["hurry"] or time.monotonic() > deadline:
            _say("killing what is still running")
            break
        time.sleep(0.2)
    # Also reaps what a child left behind (gunicorn workers, Celery pool processes).
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()


def _stop_embedded_database(pg_data: Path) -> None:
    if embedded_server_release(pg_data):
        _say("the embedded PostgreSQL is still used by another process; leaving it running")
    else:
        _say("stopped the embedded PostgreSQL")


def _print_banner(port: int, *, embedded_db: bool) -> None:
    base = f"http://127.0.0.1:{port}"
    var_dir = os.environ["TELECOM_VAR_DIR"]
    database = f"embedded PostgreSQL in {var_dir}/pgdata" if embedded_db else "DATABASE_URL"
    broker = (
        "REDIS_URL" if os.environ.get("REDIS_URL") else f"filesystem broker in {var_dir}/broker"
    )
    lines = [
        "",
        f"Telecom is running (database: {database}; Celery broker: {broker})",
        "",
        f"  Webapp     {base}/",
        f"  Admin      {base}/admin/",
        f"  API docs   {base}/api/v1/docs/",
        f"  Health     {base}/healthz/",
        f"  Mail       {var_dir}/mail/ (the local SMTP server keeps every message)",
        "",
        f"Demo logins, all with the password {DEMO_PASSWORD}:",
        *(f"  {role:<15} {email}" for role, email in DEMO_LOGINS),
        "",
        "Press Ctrl-C to stop.",
        "",
    ]
    print("\n".join(lines), flush=True)


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, check=True)


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _die_with_parent() -> None:
    """In a child: get SIGTERM if this stack is killed outright (Linux only)."""
    if _libc is not None:
        _libc.prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _hurry(signum: int, frame: object) -> None:
    _shutdown["hurry"] = True


def _say(message: str) -> None:
    print(f"devstack: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
