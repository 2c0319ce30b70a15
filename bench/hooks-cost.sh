#!/bin/sh
# What webhooks and donor call-outs cost in SQL statements (and, roughly, time), on SQLite
# and on Postgres: the figures in BENCHMARKS.md, "Webhooks and call-outs (issue 16)".
# Usage: bench/hooks-cost.sh [postgres-url]
set -e
cd "$(dirname "$0")/.."
cargo test -q -p lifeflow-tests --test e2e hooks_cost:: -- --nocapture --test-threads 1 2>&1 | grep -E "statements|test result"
if [ -n "$1" ]; then
  TEST_DATABASE_URL="$1" cargo test -q -p lifeflow-tests --test e2e hooks_cost:: -- --nocapture --test-threads 1 2>&1 | grep -E "statements|test result"
fi
