"""Writing the rows of one change in one database round trip.

A change of an order or a position updates a row or two (the order, the position) and adds
several (a fill, maybe a new position, event rows, outbox rows). ``write_rows`` sends all of them
in one statement on PostgreSQL: one data-modifying CTE per row group, each built by Django's own
update and insert compilers, so values are prepared exactly as ``save()`` would prepare them.
Elsewhere (the embedded SQLite run) it falls back to ``save()`` and ``bulk_create`` inside one
transaction. Rows must already be validated by the caller; auto-increment primary keys are set on
the inserted instances afterwards, like ``bulk_create`` does. Foreign keys are checked at commit
(Django creates them ``DEFERRABLE INITIALLY DEFERRED``), so a child may be written with its
parent in the same statement.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from django.db import connections, models, transaction
from django.db.models import Q
from django.db.models.sql import InsertQuery, UpdateQuery

Group = tuple[type[models.Model], list[models.Model]]


def insert_rows(rows: Sequence[models.Model], *, using: str = "default") -> None:
    """Insert ``rows`` (unsaved instances, parents before children) together; see ``write_rows``."""
    write_rows(inserted=rows, using=using)


def write_rows(
    *, updated: Sequence[models.Model] = (), inserted: Sequence[models.Model] = (), using: str = "default"
) -> None:
    """Save every column of the ``updated`` rows and insert the ``inserted`` ones, all or nothing.

    Raises the database's ``IntegrityError`` like ``save()`` would; nothing is written then.
    """
    groups: list[Group] = [(model, list(objs)) for model, objs in itertools.groupby(inserted, key=type)]
    if not groups and not updated:
        return
    if connections[using].vendor != "postgresql":
        _write_one_by_one(updated, groups, using)
        return
    if len(updated) == 1 and not groups:
        updated[0].save(using=using)
        return
    sql, params = _combined_sql(updated, groups, using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    _assign_returned_keys(groups, returned, using)


def _write_one_by_one(updated: Sequence[models.Model], groups: list[Group], using: str) -> None:
    with transaction.atomic(using=using):
        for row in updated:
            row.save(using=using)
        for model, objs in groups:
            model._default_manager.using(using).bulk_create(objs)


def _combined_sql(updated: Sequence[models.Model], groups: list[Group], using: str) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for index, row in enumerate(updated):
        sql, row_params = _update_sql(row, using)
        parts.append(f"u{index} AS ({sql} RETURNING 1)")
        params.extend(row_params)
    selects = ["SELECT -1 AS g, NULL::text AS pk"]
    for index, (model, objs) in enumerate(groups):
        sql, group_params = _insert_sql(model, objs, using)
        parts.append(f"q{index} AS ({sql})")
        selects.append(f"SELECT {index} AS g, pk::text FROM q{index}")
        params.extend(group_params)
    return f"WITH {', '.join(parts)} {' UNION ALL '.join(selects)}", params


def _update_sql(row: models.Model, using: str) -> tuple[str, tuple[Any, ...]]:
    opts = row._meta
    fields = [field for field in opts.local_concrete_fields if not field.primary_key and not field.generated]
    query = UpdateQuery(type(row))
    query.add_update_fields([(field, None, field.pre_save(row, False)) for field in fields])
    query.add_q(Q(pk=row.pk))
    sql, params = query.get_compiler(using=using).as_sql()
    return sql, params


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


def _assign_returned_keys(groups: list[Group], returned: list[Any], using: str) -> None:
    by_group: dict[int, list[str]] = {}
    for group, pk in returned:
        if group >= 0:
            by_group.setdefault(group, []).append(pk)
    for index, (model, objs) in enumerate(groups):
        pk_field = model._meta.pk
        for obj, pk in zip(objs, by_group.get(index, []), strict=True):
            if obj.pk is None:
                obj.pk = pk_field.to_python(pk)
            obj._state.adding = False
            obj._state.db = using
