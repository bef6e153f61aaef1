"""Rows built once for all the tests of a module.

Building a world through the services (members, licences, invoices, numbers) costs seconds; a
module whose tests all read the same world builds it once, in a transaction of its own that every
test's transaction nests in (a savepoint, rolled back after the test) and that is rolled back after
the module's last test. Only modules whose every test uses the world may use this: a test of the
module that does not would still see its rows. So such a module names the fixture for all its
tests (`pytestmark = [..., pytest.mark.usefixtures(<fixture>, "db")]`), and hands each test a copy
of the objects it built (`copy.deepcopy`), never the objects themselves. See docs/testing.md.
"""

from contextlib import contextmanager

from django.db import transaction


@contextmanager
def built_once(django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)
