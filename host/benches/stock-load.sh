#!/usr/bin/env bash
# What reserving stock costs a placement: POST /api/v1/orders/ with the varied orders of
# traffic-mix.sh on the standard workflow, then on a copy of it that reserves (`[stock]
# reserve = true`, channel `reserving`), then both again with every order on one hot
# product, on each store in turn, driven by wrk over loopback, after an untimed run that
# seeds the ledger of every product (a shop's ledger is warm). The summary gives each
# reserving rate as a share of the plain one in the same run (this machine's speed varies).
#   bash host/benches/stock-load.sh [seconds] [connections] [stores]
# stores: "embedded mongodb" (default), or one of them. MongoDB is the test server of
# tests/servers.sh unless ORDERFLOW_TEST_MONGODB_URL names another.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-64}
stores=${3:-embedded mongodb}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
source tests/servers.sh
cargo build --release -q -p orderflow --bin orderflow
bin=$PWD/target/release/orderflow
source host/benches/post-order.sh
source host/benches/traffic-mix.sh
workflows=$servers_work/workflows
mkdir -p "$workflows"
cp workflows/*.toml "$workflows/"
sed 's/^description = .*/description = "The standard web shop, reserving stock"\nchannels = ["reserving"]\n\n[stock]\nreserve = true\nreservation_ttl = "15m"/' workflows/standard.toml >"$workflows/reserving.toml"
summary=()

rate() { awk '/^Requests\/sec/ {print $2}' <<<"$1"; }

# Starts the service on a fresh data directory (and database), loads it, stops it.
load() {
    local store=$1 data=$servers_work/data-$1 pid base out
    shift
    rm -rf "$data"
    env DATA_DIR="$data" CATALOG_FILE="$servers_work/catalog.json" WORKFLOW_DIR="$workflows" HOST=127.0.0.1 PORT=0 "$@" "$bin" serve >"$servers_work/$store.out" 2>"$servers_work/$store.err" &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$servers_work/$store.out" && break; sleep 0.1; done
    base=$(sed -n 's/^orderflow listening on //p' "$servers_work/$store.out")
    [ -n "$base" ] || { cat "$servers_work/$store.err" >&2; exit 1; }
    # A shop's ledger is warm: every product ordered before. An untimed run of reserving
    # orders seeds it, as the first order of each product does.
    wrk -t2 -c"$connections" -d"${seconds}s" -s "$servers_work/mix.lua" "$base" -- 0 reserving >/dev/null
    sleep 10
    local -A rates
    for orders in varied hot; do
        local product=""
        [ "$orders" = hot ] && product=p0007
        for channel in "" reserving; do
            echo "## $store: POST /api/v1/orders/, $orders orders${channel:+, reserving} (${seconds}s, $connections connections)"
            out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$servers_work/mix.lua" "$base" -- 0 "$channel" "$product")
            echo "$out"
            rates[$orders-${channel:-plain}]=$(rate "$out")
            # Requests the server still works through after wrk stops would slow the next run.
            sleep 10
        done
        summary+=("$store $orders ${rates[$orders-plain]} ${rates[$orders-reserving]}")
    done
    # The ledger still equals the orders after the load.
    curl -sf "$base/api/v1/inventory/reconciliation" -H "Authorization: Bearer $("$bin" token --user ops --admin 2>/dev/null)" -o "$servers_work/reconciled.json"
    grep -o '"consistent":[a-z]*' "$servers_work/reconciled.json"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

for store in $stores; do
    case $store in
        embedded) load embedded ;;
        mongodb)
            [ -n "${ORDERFLOW_TEST_MONGODB_URL:-}" ] || start_mongodb
            load mongodb MONGODB_URL="$ORDERFLOW_TEST_MONGODB_URL" DATABASE_NAME="stock_$(date +%s%N)"
            ;;
        *) echo "unknown store: $store" >&2; exit 1 ;;
    esac
done

echo "## Summary (POST requests/s, same run)"
echo
echo "| store | orders | without reservations | with | with / without |"
echo "|---|---|---|---|---|"
for row in "${summary[@]}"; do
    read -r store orders plain reserving <<<"$row"
    awk -v s="$store" -v o="$orders" -v a="$plain" -v b="$reserving" \
        'BEGIN { printf "| %s | %s | %.0f | %.0f | %.0f %% |\n", s, o, a, b, 100 * b / a }'
done
