"""Redis projection of the trading state (SPEC section 6).

- ``keys``: the key schema, the only place that spells a key;
- ``codec``: how every value is encoded (unified hashes, legacy HYPERRSI and GRID layouts);
- ``state``: what Redis should hold for a change or a user, computed from PostgreSQL;
- ``projector``: writes it in one MULTI/EXEC, never inside a database transaction;
- ``outbox``: the service layer's entry point (``record_position_change`` /
  ``record_order_change`` inside the transaction, published after commit, drained when Redis is
  back);
- ``verify``: drift detection, repair and the rebuild behind ``verify_redis`` / ``rebuild_redis``;
- ``tradingcore.locks``: per-user projection locks and outbox claims (PostgreSQL advisory locks).

Import the submodules directly; this package module imports nothing so that ``keys`` and
``codec`` stay importable before the app registry is ready.
"""
