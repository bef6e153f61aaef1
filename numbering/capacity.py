"""How many numbers of which types a licence holds (rule 3) and its number changes (rule 8)."""

from collections.abc import Mapping


def slots_total(capacity: Mapping[str, int]) -> int:
    return sum(capacity.values())


def has_free_slot(capacity: Mapping[str, int], held: Mapping[str, int], number_type: str) -> bool:
    """Rule 3. `capacity` is {"any": n} or per type ({"landline": 1, "mobile": 3});
    `held` counts the numbers the licence holds, by type."""
    if "any" in capacity:
        return sum(held.values()) < capacity["any"]
    return held.get(number_type, 0) < capacity.get(number_type, 0)


def receiving_counts_as_change(*, numbers_received: int, capacity: Mapping[str, int]) -> bool:
    """Rule 8: every number a licence receives beyond its first filling is a change."""
    return numbers_received >= max(slots_total(capacity), 1)


def has_changes_left(
    *, numbers_received: int, changes_used: int, max_changes: int, capacity: Mapping[str, int]
) -> bool:
    if not receiving_counts_as_change(numbers_received=numbers_received, capacity=capacity):
        return True
    return changes_used < max_changes


def can_receive_number(
    *,
    capacity: Mapping[str, int],
    held: Mapping[str, int],
    number_type: str,
    numbers_received: int,
    changes_used: int,
    max_changes: int,
) -> bool:
    """Rules 3 and 8: a free slot for this type, and a change left if receiving counts as one."""
    return has_free_slot(capacity, held, number_type) and has_changes_left(
        numbers_received=numbers_received,
        changes_used=changes_used,
        max_changes=max_changes,
        capacity=capacity,
    )


def within_plan_cap(*, held: int, adding: int, cap: int) -> bool:
    """Rule 5: a member holding `held` numbers may take `adding` more under the plan's `cap`."""
    return held + adding <= cap
