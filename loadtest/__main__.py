"""``python -m loadtest``: one run of the load and fault suite against the database of
``DATABASE_URL`` (migrated). ``make loadtest`` starts a throwaway PostgreSQL first and runs this.
Exit status 0 when every check passes, 1 otherwise."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="loadtest", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--bots", type=int, default=50, help="concurrent bot clients (default 50)")
    parser.add_argument("--api-servers", type=int, default=2, help="API servers (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="workers per API server (default 2)")
    parser.add_argument("--watchers", type=int, default=2, help="watch_orders processes (default 2)")
    faults = (
        "'all' (default: redis_restart at 25%%, watcher_kill at 45%%, api_worker_kill at 65%% of the load), 'none', "
        "or a comma-separated list of those kinds (repeats allowed), spread evenly over the load"
    )
    parser.add_argument("--faults", default="all", help=faults)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the logs of the processes even when all passes")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from loadtest.report import print_report
    from loadtest.suite import ALL_FAULTS, FAULT_KINDS, Fault, Plan, Suite

    faults: tuple[Fault, ...]
    if args.faults == "all":
        faults = ALL_FAULTS
    else:
        wanted = [name.strip() for name in args.faults.split(",") if name.strip() and name.strip() != "none"]
        unknown = [name for name in wanted if name not in FAULT_KINDS]
        if unknown:
            print(f"unknown faults: {', '.join(unknown)} (known: {', '.join(FAULT_KINDS)})", file=sys.stderr)
            return 2
        faults = tuple(Fault((n + 1) / (len(wanted) + 1), kind) for n, kind in enumerate(wanted))
    plan = Plan(seconds=args.seconds, bots=args.bots, api_servers=args.api_servers, workers=args.workers,
                watchers=args.watchers, faults=faults, seed=args.seed)  # fmt: skip
    work_dir = Path(tempfile.mkdtemp(prefix="tradingcore-loadtest-"))
    result = Suite(plan, work_dir, echo=lambda line: print(line, flush=True)).run()
    print_report(result)
    if result.ok and not args.keep:
        shutil.rmtree(work_dir, ignore_errors=True)
    else:
        print(f"logs of the API servers, watchers and redis, and every request (journal.jsonl): {work_dir}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
