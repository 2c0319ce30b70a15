#!/bin/sh
# ws-fanout against two server binaries in turn (A, B, A, B, …), with one client binary, so
# that both are measured in the same sitting under the same conditions.
#
#   bench/ws-fanout-ab.sh BEFORE_SERVER AFTER_SERVER [PAIRS] [more lifeflow-bench options]
#
# Defaults: 2 pairs, Postgres, 10 000 subscribers, 5 rounds 3 s apart, MALLOC_ARENA_MAX=2 in
# the server's environment (as the README's production settings). The client is
# $LIFEFLOW_BENCH_BIN, else target/release/lifeflow-bench.
set -eu
before=$1
after=$2
pairs=${3:-2}
shift 2
[ $# -gt 0 ] && shift
bench=${LIFEFLOW_BENCH_BIN:-target/release/lifeflow-bench}
i=1
while [ "$i" -le "$pairs" ]; do
  for side in before after; do
    if [ "$side" = before ]; then bin=$before; else bin=$after; fi
    echo "### pair $i, $side: $bin"
    "$bench" --db postgres --scenario ws-fanout --subscribers 10000 --rounds 5 \
      --round-gap 3 --set MALLOC_ARENA_MAX=2 --server-bin "$bin" "$@"
  done
  i=$((i + 1))
done
