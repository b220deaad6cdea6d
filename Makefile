# The two commands of the README, plus helpers. Everything installs what it needs.
.PHONY: run test lint bench loadtest venv

run:        ## the whole service on HOST:PORT (default 127.0.0.1:8000): SQLite, embedded Redis, paper exchange, fill watcher
	bash scripts/run.sh

test:       ## whole suite + ruff + mypy on a throwaway PostgreSQL 15 and redis-server
	bash scripts/test.sh $(ARGS)

bench:      ## every benchmark in bench/ on a throwaway PostgreSQL and redis-server, then one summary table
	bash scripts/bench.sh $(ARGS)

loadtest:   ## load and fault suite: 50 bots for 60 s while Redis restarts and a watcher and an API worker are killed; then the checks
	bash scripts/loadtest.sh $(ARGS)

lint: venv
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy tradingcore positions orders config

venv:
	bash scripts/venv.sh
