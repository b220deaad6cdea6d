"""Redis projection of the trading state (SPEC section 6). PostgreSQL is the truth; this is a copy.

- ``keys``: the key schema, the only place that spells a key;
- ``codec``: how every value is encoded (unified hashes, legacy HYPERRSI and GRID layouts);
- ``plan``: what one change writes (``Block``) and what a user's keys should hold (``State``),
  built from the DTOs the apps hand over, never from their rows;
- ``projector`` + ``apply.lua``: writes a change in one MULTI/EXEC, version-guarded, never inside
  a database transaction;
- ``outbox``: the services' entry point (rows in the change's transaction, projected after
  commit, drained later when Redis was down);
- ``sources``: how the apps let the drain, rebuild and verify read their current rows;
- ``reader`` + ``read.lua``: the fast read path of open positions;
- ``verify`` / ``rebuild``: drift detection and repair (``verify_redis``), full rewrite
  (``rebuild_redis``).

Import the submodules directly; this package module imports nothing so that ``keys`` and
``codec`` stay importable before the app registry is ready.
"""
