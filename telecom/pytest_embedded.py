"""`make test`'s embedded PostgreSQL: a pytest plugin (`-p telecom.pytest_embedded`, in
`pyproject.toml`'s addopts) that starts it before Django reads its settings.

With no `DATABASE_URL` the pytest process starts (or joins) the embedded PostgreSQL under
`var/pgdata` (`telecom.embedded`) and sets `DATABASE_URL`; the xdist workers inherit it and so
never start one themselves. The tests use databases of their own on it (`test_telecom_gw0`, ...).
When pytest is done it lets the server go: it stops, unless another process (`make run`) holds
it too. With `DATABASE_URL` set the plugin does nothing.
"""

import pytest

from telecom.embedded import embedded_server_release, use_embedded_database_if_unset


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # A wrapper runs before every plugin's own hook, pytest-django's (which reads the settings)
    # included.
    data_dir = use_embedded_database_if_unset()
    if data_dir is not None:
        early_config.add_cleanup(lambda: embedded_server_release(data_dir))
    return (yield)
