"""Numbers: assign, reassign, change, delete into quarantine, recover, release (rules 1-10).

Every public function is one transaction that locks the organisation row first
(`telecom.locks`), so licence-slot decisions of one organisation are serialised, then the rows it
changes. Numbers come from and go back to the carrier boundary (`numbering.carriers`). Where a
new number goes is the allocation engine's decision (`numbering.allocation`).

- `assign`: `number_assign`, `numbers_assign` (a batch; the single one is a batch of one);
- `previews`: the same decisions read-only, for the console's reviews;
- `lifecycle`: reassign, change, delete, recover, release;
- `history`: who held a number when."""

from numbering.allocation import NumberRequest
from numbering.services.assign import (
    AssignResult,
    number_assign,
    numbers_assign,
)
from numbering.services.history import (
    history_follow_licence,
    history_open,
)
from numbering.services.lifecycle import (
    number_change,
    number_delete,
    number_reassign,
    number_recover,
    numbers_quarantine,
    numbers_quarantine_all_locked,
    numbers_release_quarantined,
)
from numbering.services.previews import (
    BatchPreview,
    NumberPreview,
    number_assign_preview,
    number_reassign_preview,
    number_recover_preview,
    numbers_assign_preview,
)

__all__ = [
    "AssignResult",
    "BatchPreview",
    "NumberPreview",
    "NumberRequest",
    "history_follow_licence",
    "history_open",
    "number_assign",
    "number_assign_preview",
    "number_change",
    "number_delete",
    "number_reassign",
    "number_reassign_preview",
    "number_recover",
    "number_recover_preview",
    "numbers_assign",
    "numbers_assign_preview",
    "numbers_quarantine",
    "numbers_quarantine_all_locked",
    "numbers_release_quarantined",
]
