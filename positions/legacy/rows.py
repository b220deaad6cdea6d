"""Writing many new rows of several models at once: COPY on PostgreSQL, ``bulk_create`` elsewhere.

The importer creates hundreds of positions, events, outbox rows and ledger rows per batch; COPY
adapts their values in C, where an ORM insert spends most of its time preparing each value in
Python. Rows are plain dicts of field name to value (JSON fields as Python objects, encoded with
Django's JSON encoder so Decimals survive). Values are validated before (by the parsers and the
DTOs); the database checks its constraints as for any insert, and its errors come out as Django's
(``IntegrityError``). Columns left out take their database defaults. Joins the caller's
transaction.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models
from psycopg.types.json import Jsonb

_dumps = partial(json.dumps, cls=DjangoJSONEncoder)


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
    names = sorted({name for row in rows for name in row})
    fields = [model._meta.get_field(name) for name in names]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)  # type: ignore[union-attr]
    json_fields = {field.name for field in fields if isinstance(field, models.JSONField)}
    statement = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([_value(row.get(name), name in json_fields) for name in names])


def _value(value: Any, is_json: bool) -> Any:
    return Jsonb(value, dumps=_dumps) if is_json and value is not None else value
