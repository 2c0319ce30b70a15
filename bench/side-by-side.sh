#!/usr/bin/env bash
# LifeFlow and PostGraphile 5 side by side on one seeded Postgres database (issue 14), plus
# LifeFlow's cold start and idle memory. See BENCHMARKS.md, "Issue 14: side by side with
# PostGraphile 5".
#
#   bench/side-by-side.sh              # everything, about 10 minutes
#   bench/side-by-side.sh --quick      # one short round, about 2 minutes
#   bench/side-by-side.sh --only cold-start
#
# Needs: Postgres on 127.0.0.1:5432 accepting user postgres without a password (or
# SBS_ADMIN_URL), cargo, node and npm, python3, psql. Installs wrk (apt-get) and the npm
# packages pinned in bench/postgraphile/package-lock.json itself. Creates the database
# lifeflow_sbs_<pid> and drops it on exit, failure or Ctrl-C included, after stopping the
# servers it started. Prints the markdown tables on stdout, progress on stderr.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/side-by-side.sh [options]
  --quick            1 round of 3 s runs after 2 s of warm-up, 1 cold start each (about 2 min)
  --rounds N         rounds of the side-by-side runs (default 3)
  --duration S       seconds per measured run (default 10)
  --warmup S         seconds of warm-up per server before the rounds (default 5)
  --concurrency L    comma-separated connection counts per round (default 16,64,1)
  --scale N          seed --scale (default 200)
  --cold-reps N      starts per cold-start case (default 3)
  --only WHAT        side-by-side or cold-start (default: both)
  --no-build         use the release binary as it is
  --keep-logs DIR    copy the servers' logs and every run's figures (JSON) there
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=3 DURATION=10 WARMUP=5 CONCURRENCY=16,64,1 SCALE=200 COLD_REPS=3 ONLY=all BUILD=1 KEEP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) ROUNDS=1 DURATION=3 WARMUP=2 COLD_REPS=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --concurrency) CONCURRENCY=$2; shift ;;
    --scale) SCALE=$2; shift ;;
    --cold-reps) COLD_REPS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --no-build) BUILD=0 ;;
    --keep-logs) KEEP=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$ONLY" in all|side-by-side|cold-start) ;; *) echo "--only side-by-side|cold-start" >&2; exit 2 ;; esac

say() { echo "== $*" >&2; }

ADMIN_URL=${SBS_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_BASE=${ADMIN_URL%/*}/
DB=lifeflow_sbs_$$
DB_URL=$PG_BASE$DB
WORK=$(mktemp -d /tmp/lifeflow-sbs.XXXXXX)
LF_PID="" PG_PID=""

stop() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$LF_PID"
  stop "$PG_PID"
  psql "$ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp "$WORK"/*.log "$WORK"/*.json "$KEEP"/ 2>/dev/null || true; fi
  if [ "$rc" -ne 0 ]; then
    for f in "$WORK"/lifeflow.log "$WORK"/postgraphile.log "$WORK"/coldstart.log; do
      [ -s "$f" ] && { echo "--- last lines of $(basename "$f")" >&2; tail -n 20 "$f" >&2; }
    done
    echo "side-by-side failed (exit $rc); database $DB dropped" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for tool in cargo psql python3 curl; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
psql "$ADMIN_URL" -q -c "SELECT 1" >/dev/null

if [ "$BUILD" = 1 ]; then
  say "cargo build --release -p lifeflow-api"
  (cd "$ROOT" && cargo build --release -p lifeflow-api >&2)
fi
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/release/lifeflow
[ -x "$BIN" ] || { echo "$BIN is missing: build it (drop --no-build)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for() { # url, pid, name
  for _ in $(seq 600); do
    kill -0 "$2" 2>/dev/null || { echo "$3 exited before answering" >&2; return 1; }
    if curl -fsS -o /dev/null 2>/dev/null -H 'Content-Type: application/json' -d '{"query":"{ __typename }"}' "$1"; then
      return 0
    fi
    sleep 0.1
  done
  echo "$3 did not answer in 60 s" >&2
  return 1
}

run_side_by_side() {
  if ! command -v wrk >/dev/null; then
    say "installing wrk"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  fi
  command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are required" >&2; exit 1; }
  if ! (cd "$ROOT/bench/postgraphile" && npm ls --depth=0 >/dev/null 2>&1 &&
        node -e 'process.exit(require("./node_modules/postgraphile/package.json").version === require("./package.json").dependencies.postgraphile ? 0 : 1)'); then
    say "npm ci (bench/postgraphile)"
    (cd "$ROOT/bench/postgraphile" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi

  # Field encryption: the seed and the production server must share keys (production
  # refuses to start without them).
  export ENCRYPTION_KEYS="b1:$(head -c 32 /dev/urandom | base64)"
  export BLIND_INDEX_KEY="$(head -c 32 /dev/urandom | base64)"
  say "database $DB: migrations and seed --scale $SCALE"
  psql "$ADMIN_URL" -q -c "CREATE DATABASE $DB" >/dev/null
  # The seed refuses production; it runs the migrations first. No .env is read: the working
  # directory is the run's own.
  (cd "$WORK" && env DATABASE_URL="$DB_URL" APP_ENV=development RUST_LOG=warn "$BIN" seed --scale "$SCALE" >&2)
  psql "$DB_URL" -q -c "VACUUM ANALYZE" >/dev/null
  HOSPITAL=$(psql "$DB_URL" -At -c "SELECT id FROM organizations WHERE code = 'SCALE-H-00000'")
  [ -n "$HOSPITAL" ] || { echo "the seed made no hospital SCALE-H-00000" >&2; exit 1; }

  local lf_port pg_port
  lf_port=$(free_port)
  say "LifeFlow (release, APP_ENV=production) on 127.0.0.1:$lf_port"
  (cd "$WORK" && exec env APP_ENV=production JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
      DATABASE_URL="$DB_URL" HOST=127.0.0.1 PORT="$lf_port" EXPOSE_SQL_COUNT=true \
      ACCESS_TOKEN_TTL_SECS=7200 MALLOC_ARENA_MAX=2 "$BIN" serve >"$WORK/lifeflow.log" 2>&1) &
  LF_PID=$!
  wait_for "http://127.0.0.1:$lf_port/graphql" "$LF_PID" LifeFlow

  pg_port=$(free_port)
  say "PostGraphile $(node -p 'require("'"$ROOT"'/bench/postgraphile/node_modules/postgraphile/package.json").version') (node $(node --version)) on 127.0.0.1:$pg_port"
  (cd "$ROOT/bench/postgraphile" && exec env DATABASE_URL="$DB_URL" PORT="$pg_port" NODE_ENV=production \
      GRAPHILE_ENV=production node node_modules/postgraphile/dist/cli-run.js -C graphile.config.mjs \
      >"$WORK/postgraphile.log" 2>&1) &
  PG_PID=$!
  wait_for "http://127.0.0.1:$pg_port/graphql" "$PG_PID" PostGraphile

  say "login as scale-h-00000@scale.example"
  local token
  token=$(curl -fsS -H 'Content-Type: application/json' \
    -d '{"query":"mutation { login(input: {email: \"scale-h-00000@scale.example\", password: \"scale-benchmark-password\"}) { accessToken } }"}' \
    "http://127.0.0.1:$lf_port/graphql" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["login"]["accessToken"])')

  python3 "$ROOT/bench/side-by-side/measure.py" \
    --lifeflow "http://127.0.0.1:$lf_port/graphql" --postgraphile "http://127.0.0.1:$pg_port/graphql" \
    --token "$token" --hospital "$HOSPITAL" --work "$WORK" --pids "$LF_PID,$PG_PID" \
    --db "$DB" --admin-url "$ADMIN_URL" --duration "$DURATION" --warmup "$WARMUP" \
    --rounds "$ROUNDS" --concurrency "$CONCURRENCY" --json-out "$WORK/runs.json"
  stop "$LF_PID"; LF_PID=""
  stop "$PG_PID"; PG_PID=""
}

echo "Side by side at $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)'), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(psql "$ADMIN_URL" -At -c 'SHOW server_version')"
echo
if [ "$ONLY" != cold-start ]; then run_side_by_side; echo; fi
if [ "$ONLY" != side-by-side ]; then
  say "cold start, $COLD_REPS start(s) per case"
  python3 "$ROOT/bench/side-by-side/coldstart.py" --bin "$BIN" --root "$ROOT" --work "$WORK" \
    --admin-url "$ADMIN_URL" --pg-base "$PG_BASE" --db "$DB" --reps "$COLD_REPS"
fi
