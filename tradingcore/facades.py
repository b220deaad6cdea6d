"""Plumbing of the manager facades (``PositionManager``, ``OrderManager``).

Django-style async twins (``aopen_position``), the worker-thread call behind them (also used by
the seed-compatible ``AsyncPositionManager`` / ``AsyncOrderManager``) and the seeds' two
spellings of some arguments.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

T = TypeVar("T", bound=type)
P = ParamSpec("P")
R = TypeVar("R")


def _run_and_release(method: Callable[..., Any]) -> Callable[..., Any]:
    # Worker threads come and go with the caller's executor; a connection left in one would
    # outlive its usefulness (and block dropping a database), so each call closes what it opened.
    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        finally:
            connections.close_all()

    return run


async def in_worker_thread(method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Await a synchronous manager method run in a worker thread (the exchange is slow; other
    coroutines keep running); that thread's database connections are closed afterwards."""
    return await sync_to_async(_run_and_release(method), thread_sensitive=False)(*args, **kwargs)


def with_async_twins(cls: T) -> T:
    """Add ``a<name>`` for every public synchronous method that has no twin yet.

    The twin runs the method with ``in_worker_thread``.
    """
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(member) or inspect.isgeneratorfunction(member):
            continue
        twin = f"a{name}"
        if twin in vars(cls):
            continue

        def make(method: Callable[..., Any]) -> Callable[..., Any]:
            async def twin_method(self: Any, *args: Any, **kwargs: Any) -> Any:
                return await in_worker_thread(method, self, *args, **kwargs)

            twin_method.__name__ = f"a{method.__name__}"
            twin_method.__doc__ = f"Async twin of ``{method.__name__}``.\n\n{method.__doc__ or ''}"
            return twin_method

        setattr(cls, twin, make(member))
    return cls


def pick(kwargs: dict[str, Any], *names: str, default: Any = None) -> Any:
    """The value of the first of ``names`` present (the seeds spell some arguments two ways)."""
    for name in names:
        if name in kwargs:
            return kwargs.pop(name)
    return default
