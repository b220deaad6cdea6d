"""Shared plumbing of the benchmarks in ``bench/``: timing, counting, conditions, the anchor, cleanup.

Imported as ``harness`` by the scripts next to it (their directory is on ``sys.path``). Nothing
here imports the project's own packages, so the same harness runs against today's tree and an
older commit.
"""
