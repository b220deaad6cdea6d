"""Writing many new rows of several models at once: COPY on PostgreSQL, ``bulk_create`` elsewhere.

The importer creates hundreds of positions, events, outbox rows and ledger rows per batch; COPY
adapts their values in C, where an ORM insert spends most of its time preparing each value in
Python. Rows are plain dicts of field name to value (JSON fields as Python objects, encoded with
Django's JSON encoder so Decimals survive, and sent as text for the server to parse). Values are
validated before (by the parsers and the DTOs); the database checks its constraints as for any
insert, and its errors come out as Django's (``IntegrityError``). Columns no row names take their
database defaults; a column only some rows name is NULL in the others. Joins the caller's
transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models

# One encoder for every JSON value (what json.dumps(cls=DjangoJSONEncoder) builds anew for each).
_encode_json = DjangoJSONEncoder().encode


class RowWriter:
    """New rows grouped by model, written in the order the models were first added (parents first)."""

    def __init__(self) -> None:
        self._rows: dict[type[models.Model], list[dict[str, Any]]] = {}

    def add(self, model: type[models.Model], values: dict[str, Any]) -> None:
        self._rows.setdefault(model, []).append(values)

    def count(self, model: type[models.Model]) -> int:
        return len(self._rows.get(model, ()))

    def write(self, using: str = "default") -> None:
        """Insert every row (one COPY per model on PostgreSQL); raises the database's errors."""
        connection = connections[using]
        for model, rows in self._rows.items():
            if connection.vendor == "postgresql":
                _copy(connection, model, rows)
            else:
                model._default_manager.using(using).bulk_create([model(**values) for values in rows])
        self._rows.clear()


def _copy(connection: Any, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    names = tuple(rows[0])
    if any(tuple(row) != names for row in rows):  # rows of different shapes: every column any of them names
        names = tuple(sorted({name for row in rows for name in row}))
        rows = [{name: row.get(name) for name in names} for row in rows]
    fields = [model._meta.get_field(name) for name in names]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)  # type: ignore[union-attr]
    json_columns = [index for index, field in enumerate(fields) if isinstance(field, models.JSONField)]
    statement = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for row in rows:
            values = list(row.values())
            for index in json_columns:  # text COPY: the server parses JSON text into jsonb itself
                values[index] = None if values[index] is None else _encode_json(values[index])
            copy.write_row(values)
