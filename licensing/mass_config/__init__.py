"""Mass configuration of phone-system extensions from a CSV file (rule 23).

An admin downloads `sample_csv()`, fills one row per extension and uploads it.
`mass_config_validate` writes nothing and returns a `Report`: every error (row, column, code,
sentence), or the changes the file makes and what the licences it buys cost.
`mass_config_apply` validates again under the organisation's lock and applies every row in one
transaction, or raises `MassConfigurationInvalid` (carrying the report) and applies nothing.

The file. Columns `Ext Key`, `Number`, `User`, `Addon license 1` … `Addon license N` (any N),
matched without regard to case or spacing; `,`, `;` or tab separated; UTF-8, with or without a
BOM; at most `settings.MASS_CONFIG_MAX_BYTES` (5 MB by default) and `MASS_CONFIG_MAX_ROWS`
extension rows (20,000 by default). Row numbers are the
spreadsheet's: the header is row 1, the first extension row 2. Blank rows are skipped.

Each row gets one phone-system licence, picked as rule 2 picks: the licence that already carries
the row's extension (the user's, or an unassigned one), else one of the user's phone-system
licences without an extension, else a free one, else one bought (`auto_purchase`) or
`no_licence_available` (`block`). The licence is assigned to the user and carries the extension,
the number, and the listed add-ons as its full set (rule 11): a new add-on takes a free add-on
licence of its code, else is bought or refused the same way; one no longer listed is detached and
stays available (unless it holds a number: it then stays attached).

User: an e-mail address, or a name that is unique among the organisation's members.
Number (DID): E.164 (`+16567891230`), or national digits read in the organisation's country
(`6567891230` for a US organisation, `01 23 45 67 89` for a French one); `00` stands for `+`, and
digits that are no valid national number but a valid international one once a `+` is put back
(spreadsheets drop it) are read that way. It must be in the available inventory, or already held
by the row's user (it then moves onto the row's licence). A blank Number leaves the licence's
numbers as they are; rule 5 (the plan's numbers per member) and rule 18 apply.

Error codes. For the file: `file_too_large`, `too_many_rows`, `invalid_encoding`, `not_csv`,
`empty_file`, `missing_header`, `unknown_column`, `duplicate_column`, `account_restricted`,
`too_many_errors`.
For a cell: `required`, `invalid_extension`, `duplicate_extension`, `extension_taken`,
`unknown_user`, `ambiguous_user`, `member_deactivated`, `invalid_number`, `duplicate_number`,
`number_unavailable`, `licence_full`, `number_change_limit_reached`,
`plan_number_limit_reached`, `unknown_addon`, `addon_not_allowed`, `no_licence_available`,
`unexpected_value`.

Speed: a fixed number of queries whatever the number of rows (batched reads; inserts with COPY
and updates from arrays with `unnest`), so 10,000 rows validate and apply in seconds
(`bench/mass_config.py`).

Modules: `reading` (the file, pure), `planning` (the checks against the organisation, reads
only), `results` (the report), `applying` (the two services and the bulk writes).
"""

from licensing.mass_config.applying import mass_config_apply, mass_config_validate
from licensing.mass_config.reading import (
    ADDON_CODES,
    ADDON_COLUMN,
    EXT,
    NUMBER,
    SAMPLE_ROWS,
    USER,
    InputRow,
    RowError,
    parse_csv,
    parse_did,
    read_upload,
    sample_csv,
)
from licensing.mass_config.results import MassConfigurationInvalid, PlannedRow, Report, Summary
from licensing.mass_config.sample import sample_csv_for

__all__ = [
    "ADDON_CODES",
    "ADDON_COLUMN",
    "EXT",
    "NUMBER",
    "SAMPLE_ROWS",
    "USER",
    "InputRow",
    "MassConfigurationInvalid",
    "PlannedRow",
    "Report",
    "RowError",
    "Summary",
    "mass_config_apply",
    "mass_config_validate",
    "parse_csv",
    "parse_did",
    "read_upload",
    "sample_csv",
    "sample_csv_for",
]
