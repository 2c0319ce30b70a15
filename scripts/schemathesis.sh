#!/usr/bin/env bash
# Fuzzes the GraphQL API with schemathesis, once as the seeded super admin and once as the
# seeded hospital admin, each against a server of its own on a fresh SQLite database with
# the demo data (`lifeflow seed`).
#
# Checks: schemathesis's `not_a_server_error` (no 5xx; with the hooks in
# scripts/schemathesis_checks.py, no INTERNAL and no resolver error without a code) and
# `every_error_has_a_code` (every error carries extensions.code, none INTERNAL).
#
#   scripts/schemathesis.sh                  # about 2,500 operations per role
#   ST_MAX_EXAMPLES=10 scripts/schemathesis.sh   # a quick look
#
# Settings: ST_MAX_EXAMPLES (test cases per operation and phase, default 30), ST_SEED
# (default 13, for a reproducible run), ST_WORKERS (default 2), ST_VENV (where schemathesis
# is installed, default target/schemathesis-venv), ST_BIN (a lifeflow binary to test instead
# of a fresh debug build). Reports (JUnit XML) go to target/schemathesis/<role>/. Exits
# non-zero when a check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

ST_VERSION=4.32.5
examples=${ST_MAX_EXAMPLES:-30}
seed=${ST_SEED:-13}
workers=${ST_WORKERS:-2}
venv=${ST_VENV:-target/schemathesis-venv}
case "$venv" in /*) ;; *) venv="$root/$venv" ;; esac
out=target/schemathesis
password="schemathesis-demo-password"

if [ ! -x "$venv/bin/st" ] || ! "$venv/bin/st" --version | grep -q "$ST_VERSION"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$ST_VERSION"
fi
bin=${ST_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet --bin lifeflow
  bin=target/debug/lifeflow
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

login() { # url email -> access token
  python3 - "$1" "$2" "$password" <<'EOF'
import json, sys, urllib.request
url, email, password = sys.argv[1:]
body = json.dumps({
    "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
    "variables": {"i": {"email": email, "password": password}},
}).encode()
req = urllib.request.Request(url, body, {"content-type": "application/json"})
print(json.load(urllib.request.urlopen(req))["data"]["login"]["accessToken"])
EOF
}

status=0
summary=""
for role in super_admin:admin@lifeflow.example hospital_admin:admin@stmartha.example; do
  name=${role%%:*}
  email=${role#*:}
  port=$(free_port)
  export APP_ENV=development
  export DATABASE_URL="sqlite://$work/$name.db?mode=rwc"
  export PORT=$port
  export JWT_SECRET="schemathesis-signing-key-0123456789abcdef"
  export SEED_PASSWORD=$password
  # Long enough for the whole run; the fuzzer never refreshes its token.
  export ACCESS_TOKEN_TTL_SECS=86400
  export RUST_LOG=${RUST_LOG:-error}
  "$bin" seed >/dev/null
  "$bin" serve >"$work/$name.log" 2>&1 &
  server=$!
  url="http://127.0.0.1:$port/graphql"
  for _ in $(seq 1 50); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.2
  done
  token=$(login "$url" "$email")

  echo "==> schemathesis as $name ($email), $examples examples per operation, seed $seed"
  mkdir -p "$out/$name"
  set +e
  # From target/schemathesis, where schemathesis keeps its cache of past failures.
  (cd "$out" && SCHEMATHESIS_HOOKS="$root/scripts/schemathesis_checks.py" "$venv/bin/st" run "$root/schema.graphql" \
    --url "$url" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,every_error_has_a_code \
    --max-examples "$examples" \
    --seed "$seed" \
    --workers "$workers" \
    --no-color \
    --report junit --report-junit-path "$name/junit.xml") \
    | tee "$out/$name/output.txt"
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" -eq 0 ] || status=1
  summary+="$name: $(grep -A1 'Test cases:' "$out/$name/output.txt" | tail -1 | sed 's/^ *//') (exit $rc)"$'\n'
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
done

echo
echo "==> summary"
printf '%s' "$summary"
exit $status
