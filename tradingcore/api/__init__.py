"""Plumbing shared by the REST API of both apps (SPEC section 7).

- ``keys``: per-bot API keys (created, revoked, looked up by their hash);
- ``authentication``: ``Authorization: Bearer <key>`` / ``Token <key>`` and the staff session, and
  what a request may act for (``Scope``);
- ``errors``: the one exception handler and error body;
- ``fields`` / ``serializers``: request fields checked by ``tradingcore.validation``;
- ``idempotency``: ``Idempotency-Key`` replay;
- ``pagination``, ``schema``: list paging and the documented error responses;
- ``health``, ``events``, ``paper``: ``/healthz``, live events, paper marks.

Nothing here imports the apps: their API packages (``positions.api``, ``orders.api``) build on it.
"""
