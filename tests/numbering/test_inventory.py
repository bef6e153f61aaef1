"""The local carrier inventory hands out exactly the numbers asked for (issue 11 §5).

`take()` once deleted with `DELETE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`: under
a nested-loop plan PostgreSQL ran the sub-select again for each row and removed more than n
numbers, which were then lost for good. Whether it did depended on table statistics, so these
tests force that plan.
"""

import pytest
from django.db import connection

from numbering import carriers
from numbering.carriers import InventoryOvertake, LocalInventoryBackend
from numbering.models import InventoryNumber
from telecom import errors
from tests.factories import stock

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine("2026-11-10T12:00:00Z", tick=False)]


# The plan that deleted too many: a semi join whose inner side, the locking sub-select, is run
# again for every inventory row (no hash or merge join, no hash or sort to unique-ify the ids
# first, no Materialize node to keep its first result). Each run skips the rows the statement
# has already deleted and locks the next ones.
FORCE_NESTED_LOOP = [
    "SET LOCAL enable_hashjoin = off",
    "SET LOCAL enable_mergejoin = off",
    "SET LOCAL enable_hashagg = off",
    "SET LOCAL enable_sort = off",
    "SET LOCAL enable_material = off",
]
OLD_STATEMENT = """DELETE FROM numbering_inventorynumber WHERE id IN (
    SELECT id FROM numbering_inventorynumber WHERE country = 'FR' AND number_type = 'mobile'
    ORDER BY e164 LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING e164"""


@pytest.fixture
def nested_loops():
    """A populated inventory with fresh statistics, and the planner pushed, for the rest of the
    test's transaction, to the plan that used to delete too many rows."""
    stock("FR", "mobile", 300)
    stock("FR", "landline", 50)
    stock("GB", "mobile", 50)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {InventoryNumber._meta.db_table}")
        for statement in FORCE_NESTED_LOOP:
            cursor.execute(statement)
        # The test keeps its teeth only while PostgreSQL picks that plan for the old statement.
        cursor.execute(f"EXPLAIN {OLD_STATEMENT}")
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "Nested Loop Semi Join" in plan and "Materialize" not in plan, plan


@pytest.mark.parametrize("count", [1, 5, 40])
def test_take_removes_exactly_the_count_asked_under_a_nested_loop_plan(nested_loops, count):
    first = sorted(
        InventoryNumber.objects.filter(country="FR", number_type="mobile").values_list(
            "e164", flat=True
        )
    )[:count]

    taken = LocalInventoryBackend().take(country="FR", number_type="mobile", count=count)

    assert taken == first
    assert InventoryNumber.objects.filter(country="FR", number_type="mobile").count() == 300 - count
    assert not InventoryNumber.objects.filter(e164__in=taken).exists()
    assert InventoryNumber.objects.exclude(country="FR", number_type="mobile").count() == 100


def test_take_short_removes_nothing(nested_loops):
    """All or none: a caller that handles the refusal still has every number in stock."""
    with pytest.raises(errors.NumberUnavailable, match="Only 50 landline numbers"):
        LocalInventoryBackend().take(country="FR", number_type="landline", count=51)

    assert InventoryNumber.objects.filter(country="FR", number_type="landline").count() == 50


def test_take_refuses_and_rolls_back_when_more_rows_leave_than_asked(monkeypatch):
    """Should the delete ever report more rows than asked, nothing it removed stays removed."""
    stock("FR", "mobile", 10)

    class OneMoreRow:
        def __init__(self, cursor):
            self.cursor = cursor

        def execute(self, *args):
            return self.cursor.execute(*args)

        def fetchall(self):
            return [*self.cursor.fetchall(), ("+33999999999",)]

    class Connection:
        ops = connection.ops

        def cursor(self):
            real = connection.cursor()

            class Manager:
                def __enter__(self):
                    return OneMoreRow(real.__enter__())

                def __exit__(self, *exc):
                    return real.__exit__(*exc)

            return Manager()

    monkeypatch.setattr(carriers, "connection", Connection())

    with pytest.raises(InventoryOvertake, match="Asked for 2 FR mobile numbers"):
        LocalInventoryBackend().take(country="FR", number_type="mobile", count=2)

    assert InventoryNumber.objects.count() == 10
