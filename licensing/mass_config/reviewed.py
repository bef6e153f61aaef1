"""Where the console keeps a reviewed file until it is confirmed, and the daily clean-up of
those never confirmed (`licensing.admin.mass_config` keeps the token in the reviewing session)."""

from datetime import datetime, timedelta

from django.core.files.storage import default_storage

# Confirming needs the reviewing session, which has probably ended after a day; reviewing again
# takes a minute.
REVIEWED_FILES_KEPT = timedelta(days=1)
_DIRECTORY = "mass_config"


def reviewed_path(token: str) -> str:
    return f"{_DIRECTORY}/{token}.csv"


def reviewed_files_discard(*, at: datetime) -> int:
    """Delete the reviewed files that were not confirmed within REVIEWED_FILES_KEPT of `at`;
    return how many. For the daily job `licensing.discard_unconfirmed_uploads`."""
    try:
        _, names = default_storage.listdir(_DIRECTORY)
    except FileNotFoundError:
        return 0
    discarded = 0
    for name in names:
        path = f"{_DIRECTORY}/{name}"
        if default_storage.get_modified_time(path) <= at - REVIEWED_FILES_KEPT:
            default_storage.delete(path)
            discarded += 1
    return discarded
