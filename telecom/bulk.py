"""Set-based writes the ORM has no statement for: many rows in one COPY, many updates in one
UPDATE … FROM unnest(arrays), and a cursor for statements fed by large arrays. Invoices, mass
configuration, batches of numbers and renewals use them."""

from collections.abc import Iterable

import psycopg
from django.db import connection


def copy_rows(model, fields: list[str], rows: Iterable[tuple]) -> None:
    """INSERT rows of plain values with one COPY, several times faster than `bulk_create` at
    thousands of rows. `fields` are field names or attnames (`organisation_id`); no model
    default runs, so give every non-null column. Django's cursor logs it like a query; psycopg's
    errors become Django's (an `IntegrityError` stays one)."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def update_from_arrays(model, fields: list[str], rows: list[tuple]) -> None:
    """UPDATE many rows by primary key in one statement: `rows` are (pk, *values of fields)."""
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [meta.pk] + [meta.get_field(name) for name in fields]
    names = [quote(f.column) for f in columns]
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} FROM unnest({arrays}) "
        f"AS v({', '.join(names)}) WHERE t.{names[0]} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(values) for values in zip(*rows, strict=True)])


def bound_cursor():
    """A cursor that sends parameters apart from the statement (server-side binding).

    Django's cursors bind on the client: every element of a list becomes a quoted literal in
    the SQL text, which costs a regular expression per element here and a parse per element on
    the server. A statement fed by arrays of thousands of values (`unnest`) runs several times
    faster this way. It is Django's cursor wrapper all the same: queries are logged, execute
    wrappers apply and psycopg's errors become Django's."""
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)
