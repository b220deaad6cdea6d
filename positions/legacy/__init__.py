"""The migration from the legacy HYPERRSI and GRID Redis keys (SPEC 9; a Django app, label ``legacy``).

- ``parsing``: pure functions from legacy records (hashes, JSON strings, list items) to what they
  mean in our units, tolerating every quirk the bots left behind;
- ``reading``: streaming SCAN and pipelined reads of a legacy Redis, batch by batch;
- ``store``: the one place that turns parsed records into rows (positions, orders, accounts) with
  their events, outbox rows and ``LegacyRecord`` (the idempotency ledger); ``rows`` writes them
  (COPY);
- ``importer``: ``import_legacy_redis`` (what is scanned, in which order, with which options);
  ``parallel`` runs it in several processes;
- ``report``: the counts by kind and result, the streamed JSON report, the final table;
- ``verification``: the legacy key, the unified key and the database agree on each migrated entity;
- ``cleanup``: ``cleanup_legacy_keys``, the last phase.

The commands under ``management/commands`` are interface only.
"""
