"""Writing the new rows of one change in one database round trip.

A change of an order or a position adds several rows at once: a fill, maybe a new position, its
event rows and its outbox rows. ``insert_rows`` writes them all in one statement on PostgreSQL
(one data-modifying CTE per model, each built by Django's own insert compiler, so values are
prepared exactly as ``save()`` would), and falls back to one ``bulk_create`` per model elsewhere
(the embedded SQLite run). Rows must already be validated (``full_clean``) by the caller;
auto-increment primary keys are set on the instances afterwards, like ``bulk_create`` does.
Foreign keys are deferred to commit (Django creates them ``DEFERRABLE INITIALLY DEFERRED``), so
a child may be inserted with its parent in the same statement.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from django.db import connections, models
from django.db.models.sql import InsertQuery


def insert_rows(rows: Sequence[models.Model], *, using: str = "default") -> None:
    """Insert ``rows`` (unsaved instances, in parent-before-child order) together.

    Raises the database's ``IntegrityError`` like ``save()`` would; nothing is inserted then.
    """
    groups: list[tuple[type[models.Model], list[models.Model]]] = [
        (model, list(objs)) for model, objs in itertools.groupby(rows, key=type)
    ]
    if not groups:
        return
    connection = connections[using]
    if connection.vendor != "postgresql" or len(groups) == 1:
        for model, objs in groups:
            model._default_manager.using(using).bulk_create(objs)
        return
    sql, params = _combined_insert(groups, using)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    _assign_returned_keys(groups, returned, using)


def _combined_insert(groups: list[tuple[type[models.Model], list[models.Model]]], using: str) -> tuple[str, list[Any]]:
    parts: list[str] = []
    selects: list[str] = []
    params: list[Any] = []
    for index, (model, objs) in enumerate(groups):
        sql, group_params = _insert_sql(model, objs, using)
        parts.append(f"q{index} AS ({sql})")
        selects.append(f"SELECT {index} AS g, pk::text FROM q{index}")
        params.extend(group_params)
    return f"WITH {', '.join(parts)} {' UNION ALL '.join(selects)}", params


def _insert_sql(model: type[models.Model], objs: list[models.Model], using: str) -> tuple[str, tuple[Any, ...]]:
    opts = model._meta
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert_rows")  # type: ignore[attr-defined]
        if obj.pk is None and not opts.pk.db_returning:
            obj.pk = opts.pk.get_pk_value_on_save(obj)
    auto_pk = opts.pk.db_returning and all(obj.pk is None for obj in objs)
    fields = [f for f in opts.concrete_fields if not f.generated and not (auto_pk and f.primary_key)]
    query = InsertQuery(model)
    query.insert_values(fields, objs, raw=False)
    [(sql, params)] = query.get_compiler(using=using).as_sql()  # one multi-row INSERT (no RETURNING asked)
    return f"{sql} RETURNING {connections[using].ops.quote_name(str(opts.pk.column))} AS pk", params


def _assign_returned_keys(
    groups: list[tuple[type[models.Model], list[models.Model]]], returned: list[Any], using: str
) -> None:
    by_group: dict[int, list[str]] = {}
    for group, pk in returned:
        by_group.setdefault(group, []).append(pk)
    for index, (model, objs) in enumerate(groups):
        pk_field = model._meta.pk
        for obj, pk in zip(objs, by_group.get(index, []), strict=True):
            if obj.pk is None:
                obj.pk = pk_field.to_python(pk)
            obj._state.adding = False
            obj._state.db = using
