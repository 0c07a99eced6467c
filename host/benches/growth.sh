#!/usr/bin/env bash
# Cost per order as the embedded store grows: one service filled with a million orders and
# one with ten thousand, loaded in alternating short runs in the same minutes (this machine's
# speed drifts, so only side-by-side figures compare), with the varied orders of
# traffic-mix.sh. The small one is refilled from scratch for every run, so it stays at
# 10,000–~40,000 orders. Prints the server's CPU per POST for each, and their ratio.
#   bash host/benches/growth.sh [orders in the big one] [rounds] [seconds per run]
# Needs wrk (Debian: apt-get install wrk). Server and load share this machine's cores; the
# big database takes ~4.5 KB per order on disk.
set -euo pipefail
cd "$(dirname "$0")/../.."
big=${1:-1000000}
rounds=${2:-5}
seconds=${3:-3}
source host/benches/mix-load.sh
admin=$("$bin" token --user growth-admin --admin)

# Starts a service on data directory $1; sets started_pid and started_url.
start() {
    env DATA_DIR="$1" CATALOG_FILE="$servers_work/catalog.json" HOST=127.0.0.1 PORT=0 \
        "$bin" serve >"$1.out" 2>"$1.err" &
    started_pid=$!
    server_pids+=("$started_pid")
    for _ in $(seq 100); do grep -q listening "$1.out" 2>/dev/null && break; sleep 0.1; done
    started_url=$(sed -n 's/^orderflow listening on //p' "$1.out")
    [ -n "$started_url" ] || { cat "$1.err" >&2; exit 1; }
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
orders() { curl -sf "$1/api/v1/orders/admin/all?page_size=1" -H "Authorization: Bearer $admin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
# Places varied orders on $1 until it holds $2.
fill() { local run=5s; [ "$2" -gt 100000 ] || run=1s; while [ "$(orders "$1")" -lt "$2" ]; do wrk -t2 -c64 -d"$run" -s "$servers_work/mix.lua" "$1" -- 0 >/dev/null; done; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Server CPU µs per POST of a $seconds run on service $1 (pid $2).
cost() {
    local before out
    before=$(cpu_ticks "$2")
    out=$(wrk -t2 -c32 -d"${seconds}s" -s "$servers_work/mix.lua" "$1" -- 0)
    awk -v b="$before" -v a="$(cpu_ticks "$2")" -v hz="$(getconf CLK_TCK)" \
        '/requests in/ { printf "%.1f", (a - b) * 1e6 / hz / $1 }' <<<"$out"
}

start "$servers_work/big"
big_pid=$started_pid big_url=$started_url
echo "filling one service with $big orders..." >&2
fill "$big_url" "$big"
echo "| round | µs/POST at ~10,000 orders | µs/POST at $(orders "$big_url") orders | ratio |"
echo "|---|---|---|---|"
for round in $(seq "$rounds"); do
    rm -rf "$servers_work/small"
    start "$servers_work/small"
    fill "$started_url" 10000
    small=$(cost "$started_url" "$started_pid")
    stop "$started_pid"
    large=$(cost "$big_url" "$big_pid")
    awk -v r="$round" -v s="$small" -v l="$large" 'BEGIN { printf "| %d | %.1f | %.1f | %.2f× |\n", r, s, l, l / s }'
done
stop "$big_pid"
