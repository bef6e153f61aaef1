"""A persistent database connection the server dropped is replaced, not used for a request.

Each request goes through Django's own WSGI handler (the test client skips the start-of-request
connection housekeeping), with the connection kept between requests as in production
(`CONN_MAX_AGE`). Between two requests another connection terminates it with
`pg_terminate_backend`, as a database restart or failover would.
"""

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import RequestFactory

pytestmark = pytest.mark.django_db(transaction=True)


def get(path: str) -> int:
    statuses = []
    environ = RequestFactory().get(path).environ
    response = WSGIHandler()(
        environ, lambda status, headers, exc_info=None: statuses.append(status)
    )
    response.close()  # request_finished: the connection is kept, not closed (CONN_MAX_AGE)
    return int(statuses[0].split()[0])


def terminate(pid: int) -> None:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()


def test_the_next_request_after_the_connection_was_terminated_succeeds(settings):
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert connection.settings_dict["CONN_MAX_AGE"] > 0
    assert get("/healthz/") == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [pid] = cursor.fetchone()

    terminate(pid)

    assert [get("/healthz/") for _ in range(3)] == [200, 200, 200]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
