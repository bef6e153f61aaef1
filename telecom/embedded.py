"""The embedded PostgreSQL used when no `DATABASE_URL` is set (`make run`, `make test`).

`pgserver` runs a real PostgreSQL from a wheel: no system package, no port (a unix socket in the
data directory). Several processes may ask for the same data directory at once; pgserver starts the
server under an inter-process lock and keeps, in the data directory, the list of processes holding
it. With cleanup mode "stop" the last of them to exit stops the server, so:

- `make run` (`telecom.devstack`) starts it once and passes `DATABASE_URL` to its children, which
  therefore never touch pgserver; the server lives as long as the stack and stops with it;
- `make test` starts it in the pytest process (`telecom.pytest_embedded`, before Django reads its
  settings), the xdist workers inherit `DATABASE_URL`, and the server stops when pytest exits
  (unless `make run` is using it too: then it stays for that one);
- a one-off `manage.py` command starts it, or joins a running one, and lets it go on exit.

The settings never start it: importing them with no `DATABASE_URL` is an error that says so.

A holder killed outright (SIGKILL, or pytest stopped by SIGTERM) cannot let go, so the server
outlives it; the next process to start drops dead holders from the list, adopts the running
server and stops it in turn when it exits.

As root, pgserver runs PostgreSQL as a system user `pgserver` (created on first use), because
PostgreSQL refuses to run as root.
"""

import atexit
import json
import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote

DATABASE_NAME = "telecom"
BASE_DIR = Path(__file__).resolve().parent.parent

_servers: dict[Path, object] = {}


def default_data_dir() -> Path:
    """`$TELECOM_VAR_DIR/pgdata` (default `var/pgdata` in the checkout), as the settings say."""
    return Path(os.environ.get("TELECOM_VAR_DIR", BASE_DIR / "var")) / "pgdata"


def use_embedded_database_if_unset() -> Path | None:
    """With no `DATABASE_URL`, start (or join) the embedded PostgreSQL and set `DATABASE_URL` to
    it, for this process and its children; return its data directory (None if one was set).

    Called before Django reads its settings, by `manage.py` and `make test`'s pytest plugin.
    """
    if os.environ.get("DATABASE_URL"):
        return None
    data_dir = default_data_dir()
    os.environ["DATABASE_URL"] = embedded_database_url(data_dir)
    return data_dir


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the PostgreSQL kept in `data_dir` and return a URL to its `telecom` database.

    The URL names the socket directory in the `host` query parameter, which dj-database-url passes
    to psycopg as a connection option (its hostname parsing would lower-case a path).
    """
    server = _server(Path(data_dir))
    info = server.get_postmaster_info()
    _ensure_database(str(info.socket_dir), info.port)
    return (
        f"postgresql://postgres@:{info.port}/{DATABASE_NAME}"
        f"?host={quote(str(info.socket_dir), safe='/')}"
    )


def embedded_server_release(data_dir: Path) -> bool:
    """Let go of this process's hold on the server; return True if it is still running.

    The server stops if no other live process holds it (see the module docstring).
    """
    data_dir = Path(data_dir).expanduser().resolve()
    server = _servers.pop(data_dir, None)
    if server is not None:
        server.cleanup()
    return _is_running(data_dir)


def _server(data_dir: Path):
    data_dir = data_dir.expanduser().resolve()
    if data_dir in _servers:
        return _servers[data_dir]
    if any(char.isspace() for char in str(data_dir)):
        # pgserver passes the socket directory to postgres unquoted.
        raise RuntimeError(
            f"The embedded PostgreSQL cannot use a path with spaces ({data_dir}): "
            "set TELECOM_VAR_DIR to another directory, or DATABASE_URL."
        )
    pgserver = _import_pgserver()
    # pgserver creates only the last path component, and not atomically: do it here, race-free.
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_holders(data_dir)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    _servers[data_dir] = server
    # atexit runs handlers last-in first-out, so this runs just before pgserver's own cleanup.
    atexit.register(_forget_dead_holders, data_dir)
    return server


def _forget_dead_holders(data_dir: Path) -> None:
    """Drop processes that died without letting go (SIGKILL, os._exit) from pgserver's list.

    Without this, one killed holder keeps the server running forever, as nobody is ever "last".
    """
    import psutil

    lock = _import_pgserver().PostgresServer._lock

    holders = data_dir / ".handle_pids.json"
    with lock:
        if not holders.exists():
            return
        try:
            pids = json.loads(holders.read_text())
        except ValueError:
            pids = []
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            holders.write_text(json.dumps(alive))


def _ensure_database(socket_dir: str, port: int) -> None:
    import psycopg
    from psycopg import sql

    # Under pgserver's lock: two processes starting together must not both CREATE DATABASE.
    with (
        _import_pgserver().PostgresServer._lock,
        psycopg.connect(
            host=socket_dir, port=port, user="postgres", dbname="postgres", autocommit=True
        ) as conn,
    ):
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if not exists.fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))


def _is_running(data_dir: Path) -> bool:
    info = _import_pgserver().utils.PostmasterInfo.read_from_pgdata(data_dir)
    return info is not None and info.is_running()


def _import_pgserver():
    # pgserver logs every step at INFO; through Django's root handler that is noise (and errors
    # when pytest has closed the stream by the time the server stops at exit).
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver.utils

    return pgserver
