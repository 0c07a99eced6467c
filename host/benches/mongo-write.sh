#!/usr/bin/env bash
# POST /api/v1/orders/ on MongoDB: this build against another (e.g. one from before a change
# to how the store writes), in alternating runs on the same database server, each on a
# fresh database, with the varied orders of traffic-mix.sh. Prints each run and the rates'
# ratio. The database server is the test server of tests/servers.sh (a Python process, which
# bounds the absolute rates) unless ORDERFLOW_TEST_MONGODB_URL names another.
#   bash host/benches/mongo-write.sh BASELINE_BINARY [seconds] [rounds] [connections]
# BASELINE_BINARY: an `orderflow` built from the commit to compare with, e.g.
#   git worktree add /tmp/baseline <commit> && (cd /tmp/baseline &&
#     cargo build --release -p orderflow --target-dir ~/.cache/orderflow/baseline-target)
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
baseline=$(realpath "$1")
seconds=${2:-10}
rounds=${3:-3}
connections=${4:-32}
source host/benches/mix-load.sh
[ -n "${ORDERFLOW_TEST_MONGODB_URL:-}" ] || start_mongodb

# Runs binary $2 (labelled $1) on a fresh database; prints its POST rate.
rate() {
    local label=$1 binary=$2 out pid base
    out=$servers_work/$label.out
    env DATA_DIR="$servers_work/data-$label-$RANDOM" CATALOG_FILE="$servers_work/catalog.json" \
        HOST=127.0.0.1 PORT=0 MONGODB_URL="$ORDERFLOW_TEST_MONGODB_URL" \
        DATABASE_NAME="write_${label}_$(date +%s%N)" "$binary" serve >"$out" 2>"$servers_work/$label.err" &
    pid=$!
    for _ in $(seq 150); do grep -q listening "$out" && break; sleep 0.1; done
    base=$(sed -n 's/^orderflow listening on //p' "$out")
    [ -n "$base" ] || { cat "$servers_work/$label.err" >&2; exit 1; }
    wrk -t2 -c"$connections" -d"${seconds}s" -s "$servers_work/mix.lua" "$base" -- 0 |
        awk '/Requests\/sec/ { print $2 }'
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

echo "| round | baseline POST/s | this build POST/s | ratio |"
echo "|---|---|---|---|"
for round in $(seq "$rounds"); do
    before=$(rate baseline "$baseline")
    after=$(rate current "$bin")
    awk -v r="$round" -v a="$before" -v b="$after" 'BEGIN { printf "| %d | %.0f | %.0f | %.2f× |\n", r, a, b, b / a }'
done
