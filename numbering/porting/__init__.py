"""Porting numbers in from another operator (rule 20): requests, transitions, the progress job.

A request reserves a licence slot at once, under rules 1-5 and 18, with the same licence picking
as a new number (`numbering.services`): the reservation is a PhoneNumber row with status
`porting` on the chosen licence, so capacity and the plan cap count it like a held number. On
completion that row becomes `assigned` (its history opens); on rejection or cancellation it is
released and the slot frees. A licence bought for the reservation stays, like any other (rule 6).

Statuses: submitted → accepted (the losing operator confirmed the date) → completed; submitted or
accepted → rejected (with a reason) or cancelled (by the organisation). Every transition writes a
`PortingEvent` and an audit row. The carrier backend moves requests forward: `porting_progress`
asks it about every open request and applies what is due; it is idempotent, for the hourly job
and `run_billing`.

- `rules`: pure (dates, proofs, documents, transitions);
- `services`: requests and their transitions;
- `progress`: the job;
- `selectors`: reading;
- `admin`, `api`, `urls`: the console's pages and the API (thin)."""

from numbering.porting.progress import (
    porting_progress,
)
from numbering.porting.rules import (
    PortingStatusConflict,
    add_working_days,
    detect_document_type,
    document_max_bytes,
    earliest_porting_date,
    min_working_days,
    porting_proofs,
)
from numbering.porting.selectors import (
    PortingDocument,
    porting_document_open,
    porting_events,
    porting_request_list,
)
from numbering.porting.services import (
    porting_request_accept,
    porting_request_cancel,
    porting_request_complete,
    porting_request_create,
    porting_request_preview,
    porting_request_reject,
    porting_requests_cancel_open_locked,
)

__all__ = [
    "PortingDocument",
    "PortingStatusConflict",
    "add_working_days",
    "detect_document_type",
    "document_max_bytes",
    "earliest_porting_date",
    "min_working_days",
    "porting_document_open",
    "porting_events",
    "porting_progress",
    "porting_proofs",
    "porting_request_accept",
    "porting_request_cancel",
    "porting_request_complete",
    "porting_request_create",
    "porting_request_list",
    "porting_request_preview",
    "porting_request_reject",
    "porting_requests_cancel_open_locked",
]
