#!/usr/bin/env python
import os
import sys

PRODUCTION_SETTINGS = "telecom.settings.production"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telecom.settings.base")
    # With no DATABASE_URL a command runs on the embedded PostgreSQL of `make run` and `make
    # test` (started, or joined, for the command; README.md). Never in production, which must
    # name its database: there the settings refuse to load without one.
    if os.environ["DJANGO_SETTINGS_MODULE"] != PRODUCTION_SETTINGS:
        from telecom.embedded import use_embedded_database_if_unset

        use_embedded_database_if_unset()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
