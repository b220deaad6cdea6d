# The two commands of the README, plus helpers. Everything installs what it needs.
.PHONY: run test lint bench venv

run:        ## the whole service on HOST:PORT (default 127.0.0.1:8000): SQLite, embedded Redis, paper exchange, fill watcher
	bash scripts/run.sh

test:       ## whole suite + ruff + mypy on a throwaway PostgreSQL 15 and redis-server
	bash scripts/test.sh $(ARGS)

bench:      ## every benchmark in bench/ on a throwaway PostgreSQL and redis-server, then one summary table
	bash scripts/bench.sh $(ARGS)

lint: venv
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy tradingcore positions orders config

venv:
	bash scripts/venv.sh
