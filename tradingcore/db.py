"""The write path's SQL: each statement shape compiled once per process, and one round trip per change.

Django compiles a queryset to SQL on every execution; for the models of this project (forty-odd
columns) that costs about a millisecond of CPU per statement on the machines we run on, more than
the round trip itself. The hot path of the services and of the paper exchange therefore goes
through this module, which asks Django's own compilers for the SQL of a statement *shape* once,
keeps it, and binds new values on each call, preparing them exactly as Django does
(``get_db_prep_value`` / ``get_db_prep_save``). Rows come back as model instances built the way
``QuerySet`` builds them (``Model.from_db``, the field converters, ``select_related`` caches).

- ``select``: a SELECT of one model by equality (and ``__in`` / ``__isnull``) conditions, with an
  optional ``select_related`` inner join, lock, order and limit;
- ``write_rows``: the rows one change updates and inserts, in one statement on PostgreSQL (one
  data-modifying CTE per row group), all or nothing; elsewhere (the embedded SQLite run) one
  statement per row inside a transaction;
- ``upsert_rows``: INSERT ... ON CONFLICT DO UPDATE of rows with a unique key.

Rows must already be validated by the caller. Auto-increment primary keys are set on inserted
instances afterwards, like ``bulk_create`` does. Foreign keys are checked at commit (Django
creates them ``DEFERRABLE INITIALLY DEFERRED``), so a child may be written with its parent in the
same statement. Raises the database's errors (``IntegrityError``...) like ``save()`` would.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connections, models, transaction
from django.db.models.query import get_related_populators

_lock = threading.Lock()
_cache: dict[Hashable, Any] = {}


def _cached(key: Hashable, build: Callable[[], Any]) -> Any:
    value = _cache.get(key)
    if value is None:
        value = build()
        with _lock:
            _cache[key] = value
    return value


# -- select -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Select:
    sql: str
    params: tuple[tuple[str, models.Field[Any, Any]], ...]  # (where key, field), in parameter order
    compiler: Any
    init_list: list[str]
    model_slice: slice
    populators: list[Any]
    converters: dict[int, Any]  # column index -> (converters, expression), from the compiler, once


def _shape_value(value: Any) -> Hashable:
    if value is None:
        return None
    if isinstance(value, list | tuple | set | frozenset):
        return ("in", len(value))
    return "="


def select(
    model: type[models.Model],
    *,
    where: Mapping[str, Any],
    related: str | None = None,
    lock: bool = False,
    order_by: tuple[str, ...] = (),
    limit: int | None = None,
    using: str = "default",
) -> list[Any]:
    """Rows of ``model`` matching every condition of ``where`` (``field=value``; a None value means
    IS NULL; ``field__in`` takes a list), with ``related`` (a foreign key) joined and cached, locked
    ``FOR UPDATE`` (of ``model``'s rows and the related ones) with ``lock``, ordered and limited.

    No subqueries on purpose: a locking statement's snapshot is taken before it waits for the lock,
    so what a subquery of it reads may be stale by the time the lock is granted."""
    conditions = tuple(sorted((name, _shape_value(value)) for name, value in where.items()))
    shape = ("select", model, conditions, related, lock, order_by, limit, using)
    compiled: _Select = _cached(shape, lambda: _compile_select(model, where, related, lock, order_by, limit, using))
    connection = connections[using]
    params = [_prep(field, value, connection) for key, field in compiled.params for value in _values(where[key])]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        rows = cursor.fetchall()
    return _materialize(compiled, model, rows, using)


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


def _prep(field: models.Field[Any, Any], value: Any, connection: Any) -> Any:
    return field.get_db_prep_value(field.get_prep_value(value), connection, prepared=True)


def _compile_select(
    model: type[models.Model],
    where: Mapping[str, Any],
    related: str | None,
    lock: bool,
    order_by: tuple[str, ...],
    limit: int | None,
    using: str,
) -> _Select:
    queryset = model._default_manager.using(using).all()
    params: list[tuple[str, models.Field[Any, Any]]] = []
    for key, value in sorted(where.items()):
        name = key.removesuffix("__in")
        queryset = queryset.filter(**{f"{name}__isnull": True} if value is None else {key: value})
        if value is not None:
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
            params.append((key, field))  # type: ignore[arg-type]
    if related is not None:
        queryset = queryset.filter(**{f"{related}__isnull": False}).select_related(related)
    if lock:
        queryset = queryset.select_for_update(of=("self", related) if related else ("self",))
    queryset = queryset.order_by(*order_by) if order_by else queryset
    queryset = queryset[:limit] if limit is not None else queryset
    compiler = queryset.using(using).query.get_compiler(using=using)
    sql, sql_params = compiler.as_sql()
    if len(sql_params) != sum(len(_values(where[key])) for key, _ in params):
        raise ValueError(f"cannot cache a SELECT of {model.__name__} with conditions {sorted(where)}")
    info = compiler.klass_info
    start, end = info["select_fields"][0], info["select_fields"][-1] + 1
    init_list = [column[0].target.attname for column in compiler.select[start:end]]
    populators = get_related_populators(info, compiler.select, using)  # type: ignore[call-arg]
    converters = compiler.get_converters([column[0] for column in compiler.select[0 : compiler.col_count]])
    return _Select(
        sql,
        tuple(params),
        compiler,
        init_list,
        slice(start, end),
        populators,
        converters,
    )


def _materialize(compiled: _Select, model: type[models.Model], rows: list[Any], using: str) -> list[Any]:
    objects = []
    converted = compiled.compiler.apply_converters(rows, compiled.converters) if compiled.converters else rows
    for row in converted:
        obj = model.from_db(using, compiled.init_list, row[compiled.model_slice])
        for populator in compiled.populators:
            populator.populate(row, obj)
        objects.append(obj)
    return objects


def from_column(model: type[models.Model], name: str, value: Any, using: str = "default") -> Any:
    """``value`` of ``model``'s column ``name`` as fetched by a raw statement, converted as the ORM
    converts it (the backend's converters, then the field's: SQLite's numerics become Decimals at
    the column's places, PostgreSQL's pass as they are)."""
    if value is None:
        return None
    connection = connections[using]
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    expression = field.cached_col
    converters = _cached(
        ("converters", model, name, connection.vendor),
        lambda: [*connection.ops.get_db_converters(expression), *field.get_db_converters(connection)],
    )
    for converter in converters:
        value = converter(value, expression, connection)
    return value


# -- write --------------------------------------------------------------------------------------------

Group = tuple[type[models.Model], list[models.Model]]


def insert_rows(rows: Sequence[models.Model], *, using: str = "default") -> None:
    """Insert ``rows`` (unsaved instances, parents before children) together; see ``write_rows``."""
    write_rows(inserted=rows, using=using)


def write_rows(
    *, updated: Sequence[models.Model] = (), inserted: Sequence[models.Model] = (), using: str = "default"
) -> None:
    """Save every column of the ``updated`` rows and insert the ``inserted`` ones, all or nothing."""
    groups: list[Group] = [(model, list(objs)) for model, objs in itertools.groupby(inserted, key=type)]
    if not groups and not updated:
        return
    if connections[using].vendor != "postgresql":
        _write_one_by_one(updated, groups, using)
        return
    for _, objs in groups:
        _prepare_for_insert(objs)
    shape = ("write", using, tuple(type(row) for row in updated), tuple(_group_shape(m, o) for m, o in groups))
    sql = _cached(shape, lambda: _combined_sql(updated, groups, using))
    params = [p for row in updated for p in _update_params(row, using)]
    params += [p for model, objs in groups for p in _insert_params(model, objs, using)]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall() if groups else []
    _assign_returned_keys(groups, returned, using)


def _group_shape(model: type[models.Model], objs: Sequence[models.Model]) -> Hashable:
    return model, len(objs), len(_insert_fields(model, objs))


def _write_one_by_one(updated: Sequence[models.Model], groups: list[Group], using: str) -> None:
    with transaction.atomic(using=using):
        for row in updated:
            row.save(using=using)
        for model, objs in groups:
            model._default_manager.using(using).bulk_create(objs)


def _combined_sql(updated: Sequence[models.Model], groups: list[Group], using: str) -> str:
    parts = [f"u{index} AS ({_update_sql(type(row), using)} RETURNING 1)" for index, row in enumerate(updated)]
    selects = ["SELECT -1 AS g, NULL::text AS pk"]
    for index, (model, objs) in enumerate(groups):
        parts.append(f"q{index} AS ({_insert_sql(model, objs, using)})")
        selects.append(f"SELECT {index} AS g, pk::text FROM q{index}")
    if len(parts) == 1 and not groups:
        return _update_sql(type(updated[0]), using)
    return f"WITH {', '.join(parts)} {' UNION ALL '.join(selects)}"


Column = tuple["models.Field[Any, Any]", str, tuple[type, ...]]  # field, attribute name, plain value types


def _update_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [field for field in model._meta.local_concrete_fields if not field.primary_key and not field.generated]


def _columns(model: type[models.Model], kind: str) -> list[Column]:
    """The columns an UPDATE (``kind`` "update") or an INSERT with / without the key writes."""

    def build() -> list[Column]:
        opts = model._meta
        if kind == "update":
            fields = _update_fields(model)
        else:
            skip_pk = kind == "insert" and bool(opts.pk.db_returning)
            fields = [f for f in opts.concrete_fields if not f.generated and not (skip_pk and f.primary_key)]
        return [(field, field.attname, plain_types(field)) for field in fields]

    return _cached(("columns", model, kind), build)  # type: ignore[no-any-return]


def _update_sql(model: type[models.Model], using: str) -> str:
    quote = connections[using].ops.quote_name
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in _update_fields(model))
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(str(model._meta.pk.column))} = %s"


_PREPARATION = ("pre_save", "to_python", "get_prep_value", "get_db_prep_value", "get_db_prep_save")
# Field classes whose preparation on PostgreSQL returns a value of these types unchanged.
_PLAIN_TYPES: tuple[tuple[type[models.Field[Any, Any]], tuple[type, ...]], ...] = (
    (models.CharField, (str,)),
    (models.TextField, (str,)),
    (models.DecimalField, (Decimal,)),
    (models.DateTimeField, (datetime,)),
    (models.UUIDField, (uuid.UUID,)),
    (models.AutoField, (int,)),
    (models.BigAutoField, (int,)),
    (models.IntegerField, (int,)),
)


def plain_types(field: models.Field[Any, Any]) -> tuple[type, ...]:
    """The value types ``field`` sends unchanged: its preparation is Django's own (no override in a
    subclass of ours), it sets nothing at save time (``auto_now``), and for a foreign key those of
    its target. Empty for every other field (tests/tradingcore/test_db.py holds this)."""
    if isinstance(field, models.ForeignKey):
        return plain_types(field.target_field)
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return ()
    if not all(getattr(type(field), name).__module__.startswith("django.db.models") for name in _PREPARATION):
        return ()
    return next((types for cls, types in _PLAIN_TYPES if isinstance(field, cls)), ())


def _field_value(field: models.Field[Any, Any], row: models.Model, add: bool, connection: Any) -> Any:
    """What Django's ``save()`` sends for ``field`` of ``row`` (see ``_values``)."""
    return _value((field, field.attname, plain_types(field)), row, add, connection)


def _value(column: Column, row: models.Model, add: bool, connection: Any) -> Any:
    """What Django's ``save()`` sends for one column of ``row``, without its overhead for a plain
    value (a None is sent as None by every field but JSON ones, which are never plain)."""
    field, attname, types = column
    value = getattr(row, attname)
    if types and (value is None or (type(value) in types and not _naive(value))):
        return value
    return field.get_db_prep_save(field.pre_save(row, add), connection)


def _naive(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is None


def _update_params(row: models.Model, using: str) -> list[Any]:
    connection = connections[using]
    values = [_value(column, row, False, connection) for column in _columns(type(row), "update")]
    return [*values, _prep(row._meta.pk, row.pk, connection)]


def _prepare_for_insert(objs: list[models.Model]) -> None:
    opts = objs[0]._meta
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert_rows")  # type: ignore[attr-defined]
        if obj.pk is None and not opts.pk.db_returning:
            obj.pk = opts.pk.get_pk_value_on_save(obj)


def _skips_pk(model: type[models.Model], objs: Sequence[models.Model], with_pk: bool | None) -> bool:
    """Whether an INSERT of ``objs`` leaves an auto-increment key to the database: when no row has
    one (or as ``with_pk`` says)."""
    if not model._meta.pk.db_returning:
        return False
    return all(obj.pk is None for obj in objs) if with_pk is None else not with_pk


def _insert_fields(
    model: type[models.Model], objs: Sequence[models.Model], *, with_pk: bool | None = None
) -> list[models.Field[Any, Any]]:
    """The fields an INSERT of ``objs`` writes."""
    kind = "insert" if _skips_pk(model, objs, with_pk) else "insert_pk"
    return [field for field, _, _ in _columns(model, kind)]


def _plain_insert_sql(
    model: type[models.Model], objs: Sequence[models.Model], using: str, *, with_pk: bool | None = None
) -> str:
    """INSERT ... VALUES (%s, ...), ... with one placeholder per value, as ``_insert_params`` binds
    them (Django's own bulk INSERT on PostgreSQL binds one array per column instead)."""
    quote = connections[using].ops.quote_name
    fields = _insert_fields(model, objs, with_pk=with_pk)
    columns = ", ".join(quote(str(field.column)) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([row] * len(objs))}"


def _insert_sql(model: type[models.Model], objs: Sequence[models.Model], using: str) -> str:
    pk = connections[using].ops.quote_name(str(model._meta.pk.column))
    return f"{_plain_insert_sql(model, objs, using)} RETURNING {pk} AS pk"


def _insert_params(
    model: type[models.Model], objs: Sequence[models.Model], using: str, *, with_pk: bool | None = None
) -> list[Any]:
    connection = connections[using]
    columns = _columns(model, "insert" if _skips_pk(model, objs, with_pk) else "insert_pk")
    values = [_value(column, obj, True, connection) for obj in objs for column in columns]
    if any(hasattr(value, "resolve_expression") for value in values):
        raise ValueError(f"{model.__name__}: an expression (a database default?) cannot be bound as a parameter")
    return values


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


# -- psycopg's statement cache ------------------------------------------------------------------------


def widen_psycopg_statement_cache() -> None:
    """Let psycopg keep the parsing of the write path's statements.

    psycopg parses a statement's placeholders on every execution unless the statement is at most
    4 KB with at most 50 parameters (it then keeps the result in an LRU cache). A change's combined
    statement is larger (an order alone binds 45 values), so its parsing would be repeated on every
    call; the limits are module settings read at each execution, raised here once at start-up.
    """
    from psycopg import _queries

    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, 64 * 1024)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, 2000)


# -- upsert -------------------------------------------------------------------------------------------


def upsert_rows(
    rows: Sequence[models.Model], *, unique_fields: Sequence[str], update_fields: Sequence[str], using: str = "default"
) -> None:
    """INSERT ``rows`` (all of one model, with an auto-increment key that is not written) or, on a
    conflict of ``unique_fields``, UPDATE their ``update_fields``: one statement."""
    model = type(rows[0])
    if connections[using].vendor != "postgresql":
        model._default_manager.using(using).bulk_create(
            rows, update_conflicts=True, unique_fields=unique_fields, update_fields=update_fields
        )
        return
    shape = ("upsert", model, len(rows), tuple(unique_fields), tuple(update_fields), using)
    sql = _cached(shape, lambda: _upsert_sql(model, rows, unique_fields, update_fields, using))
    with connections[using].cursor() as cursor:
        cursor.execute(sql, _insert_params(model, rows, using, with_pk=False))


def _upsert_sql(
    model: type[models.Model], rows: Sequence[models.Model], unique: Sequence[str], update: Sequence[str], using: str
) -> str:
    quote = connections[using].ops.quote_name
    sql = _plain_insert_sql(model, rows, using, with_pk=False)
    columns = [_column(model, name) for name in update]
    target = ", ".join(quote(_column(model, name)) for name in unique)
    assignments = ", ".join(f"{quote(column)} = EXCLUDED.{quote(column)}" for column in columns)
    return f"{sql} ON CONFLICT ({target}) DO UPDATE SET {assignments}"


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.column)


# A forked child's copies of its parent's connection pools: kept (never closed, never used) so that
# nothing in the child ends the parent's sessions.
_INHERITED_POOLS: list[Any] = []


def forget_inherited_connections() -> None:
    """In a process just forked (``os.register_at_fork``, see ``TradingCoreConfig.ready``): start
    with no PostgreSQL connection and an empty pool of its own.

    The parent's pool (config/settings.py) keeps idle connections open after ``close_all()``, and
    the child inherits them, sockets included: a connection used by both would interleave two
    sessions' messages, and one closed (or freed) in the child would end the parent's session. So
    the child drops the parent's pools and its open connections, and points their sockets at
    /dev/null: the parent's sockets stay as they were, and the child opens its own connections."""
    try:
        from django.db.backends.postgresql.base import DatabaseWrapper
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return
    pools: dict[str, Any] = DatabaseWrapper._connection_pools  # type: ignore[attr-defined]
    inherited: list[Any] = []
    for pool in pools.values():
        _INHERITED_POOLS.append(pool)
        inherited.extend(getattr(pool, "_pool", ()))  # its idle connections (psycopg_pool's deque)
    pools.clear()
    for wrapper in connections.all(initialized_only=True):
        if wrapper.vendor == "postgresql" and wrapper.connection is not None:
            inherited.append(wrapper.connection)
            _INHERITED_POOLS.append(wrapper.connection)
            wrapper.connection = None
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for connection in inherited:
            with contextlib.suppress(Exception):
                os.dup2(devnull, connection.pgconn.socket)
    finally:
        os.close(devnull)
