#!/usr/bin/env bash
# Sustained load on the embedded store: the traffic mix of traffic-mix.sh (80 % POST of
# varied orders, 20 % GET) at full speed for N minutes on a fresh data directory, measured
# minute by minute: requests/s, p99 latency, the server's CPU per request, orders stored,
# the WAL's size, the process's RSS, and the database's bytes per order. A 10-second run
# first, on an almost empty database, gives the cost per request at ~10,000 orders to
# compare the later minutes with.
#   bash host/benches/soak.sh [minutes] [connections]
# Needs wrk (Debian: apt-get install wrk). Server and load share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-10}
connections=${2:-64}
source host/benches/mix-load.sh
admin=$("$bin" token --user soak-admin --admin)

data=$servers_work/data
env DATA_DIR="$data" CATALOG_FILE="$servers_work/catalog.json" HOST=127.0.0.1 PORT=0 \
    "$bin" serve >"$servers_work/serve.out" 2>"$servers_work/serve.err" &
pid=$!
server_pids+=($pid)
for _ in $(seq 100); do grep -q listening "$servers_work/serve.out" && break; sleep 0.1; done
base=$(sed -n 's/^orderflow listening on //p' "$servers_work/serve.out")
[ -n "$base" ] || { cat "$servers_work/serve.err" >&2; exit 1; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
orders() { curl -sf "$base/api/v1/orders/admin/all?page_size=1" -H "Authorization: Bearer $admin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# One wrk run of $1 seconds; prints a table row labelled $2.
run() {
    local before out after n
    before=$(cpu_ticks)
    out=$(wrk -t2 -c"$connections" -d"$1s" --latency -s "$servers_work/mix.lua" "$base" -- 20)
    after=$(cpu_ticks)
    if grep -q "Non-2xx" <<<"$out"; then echo "$2: $(grep Non-2xx <<<"$out")" >&2; fi
    n=$(orders)
    awk -v label="$2" -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" -v n="$n" \
        -v wal="$(size "$data/orders.db-wal")" -v db="$(size "$data/orders.db")" \
        -v rss="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")" '
        /Requests\/sec/ { rate = $2 }
        /requests in/ { requests = $1 }
        /^ +99%/ { p99 = $2 }
        END { printf "| %s | %.0f | %s | %.1f | %d | %.1f | %.0f | %.2f |\n",
              label, rate, p99, (a - b) * 1e6 / hz / requests, n, wal / 1048576, rss / 1024, db / n / 1024 }' <<<"$out"
}

echo "| minute | requests/s | p99 | server CPU µs/request | orders stored | WAL MiB | RSS MiB | database KiB/order |"
echo "|---|---|---|---|---|---|---|---|"
run 10 "first 10 s"
for minute in $(seq "$minutes"); do run 60 "$minute"; done
kill "$pid"
wait "$pid" 2>/dev/null || true
echo
echo "after a clean stop: WAL $(size "$data/orders.db-wal") bytes, database $(size "$data/orders.db") bytes"
