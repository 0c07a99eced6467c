#!/usr/bin/env bash
# HTTP throughput of the service with the standard plugins, driven by wrk over loopback:
# POST /api/v1/orders/ (the fixed body of post-order.sh, then the varied orders of
# traffic-mix.sh), a change of an order previewed (POST …/changes, dry run), changes
# confirmed (…/changes/{id}/confirm, each on an order of its own) and
# GET /api/v1/orders/{id}, on each store in turn (with /health asked beside the varied
# POST load: its p50 and p99), then POST and GET
# against a bare axum server (host/examples/bare-http.rs) in the same run. This
# machine's speed varies from run to run, so the summary gives each figure as a share of
# the bare server's too, and the server's CPU time per request (steadier than the rate on a
# shared machine: it counts what a request costs, not how much CPU the server was given).
#   bash host/benches/http-load.sh [seconds] [connections] [stores]
# stores: "embedded mongodb" (default), or one of them. MongoDB is the test server of
# tests/servers.sh unless ORDERFLOW_TEST_MONGODB_URL names another.
# Needs wrk (Debian: apt-get install wrk). Server and load share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-64}
stores=${3:-embedded mongodb}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
source tests/servers.sh
cargo build --release -q -p orderflow --bin orderflow --example bare-http
bin=$PWD/target/release/orderflow
bare=$PWD/target/release/examples/bare-http
summary=()
health=()
source host/benches/post-order.sh
source host/benches/traffic-mix.sh
change='{"actions":[{"type":"add_item","product_id":"prod-widget","quantity":1}]}'
post_script "$servers_work/preview.lua" "${change%\}},\"dry_run\":true}"
# Confirms the changes listed in the file args[1], each once: thread i of args[2] takes
# every args[2]-th line from the i-th.
cat >"$servers_work/confirm.lua" <<LUA
local threads = 0
function setup(thread)
    thread:set("index", threads)
    threads = threads + 1
end
function init(args)
    paths, next = {}, 1
    local n = 0
    for line in io.lines(args[1]) do
        if n % tonumber(args[2]) == index then table.insert(paths, line) end
        n = n + 1
    end
    wrk.method = "POST"
    wrk.headers["Authorization"] = "Bearer $token"
end
function request()
    local path = paths[next] or paths[#paths]
    next = next + 1
    return wrk.format(nil, path)
end
LUA

# Starts the service on a fresh data directory (and database) with the given environment,
# loads it, stops it.
load() {
    local store=$1 data=$servers_work/data-$1 pid base id
    shift
    env DATA_DIR="$data" CATALOG_FILE="$servers_work/catalog.json" HOST=127.0.0.1 PORT=0 "$@" "$bin" serve >"$servers_work/$store.out" 2>"$servers_work/$store.err" &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$servers_work/$store.out" && break; sleep 0.1; done
    base=$(sed -n 's/^orderflow listening on //p' "$servers_work/$store.out")
    [ -n "$base" ] || { cat "$servers_work/$store.err" >&2; exit 1; }
    id=$(curl -sf -X POST "$base/api/v1/orders/" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$body" | sed 's/^{"id":"\([^"]*\)".*/\1/')
    curl -sf "$base/api/v1/orders/$id" -H "Authorization: Bearer $token" >"$servers_work/order.json"
    measure "$store" "$base" "$id" "$pid"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

# CPU time a process has used so far (all its threads), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Loads one request with wrk, prints its report and keeps the rate and the server's CPU
# microseconds per request for the summary.
load_one() {
    local name=$1 request=$2 pid=$3 before out
    shift 3
    before=$(cpu_ticks "$pid")
    out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@")
    echo "$out"
    summary+=("$name $request $(awk '/^Requests\/sec/ {print $2}' <<<"$out") $(awk -v b="$before" -v a="$(cpu_ticks "$pid")" -v hz="$(getconf CLK_TCK)" \
        '/requests in/ { printf "%.1f", (a - b) * 1e6 / hz / $1 }' <<<"$out")")
    echo
}

# Loads POST and GET on one server.
measure() {
    local name=$1 base=$2 id=$3 pid=$4
    echo "## $name: POST /api/v1/orders/ (${seconds}s, $connections connections)"
    load_one "$name" POST "$pid" -s "$servers_work/post.lua" "$base/api/v1/orders/"
    if [ "$name" != bare ]; then
        echo "## $name: POST /api/v1/orders/, varied orders (${seconds}s, $connections connections), /health asked beside it"
        # The health probe under that load, from one more connection: it answers from
        # figures the service keeps, so its latency is the server's queueing alone.
        wrk -t1 -c1 -d"${seconds}s" --latency "$base/health" >"$servers_work/health.out" &
        local probe=$!
        load_one "$name" POST-varied "$pid" -s "$servers_work/mix.lua" "$base" -- 0
        wait "$probe"
        health+=("$name $(awk '$1 == "50%" {p50 = $2} $1 == "99%" {print p50, $2}' "$servers_work/health.out")")
    fi
    if [ "$name" != bare ]; then
        # An order change previewed: the order as it would be, gathered, validated and
        # priced again (docs/order-changes.md), nothing written.
        echo "## $name: POST /api/v1/orders/{id}/changes, a preview (${seconds}s, $connections connections)"
        load_one "$name" POST-change-preview "$pid" -s "$servers_work/preview.lua" "$base/api/v1/orders/$id/changes"
        # Changes confirmed: each decided again and written with its order and events. A
        # change confirms once, so the run is sized to end well before the requested
        # changes do, at the preview's rate (a run past the list's end would confirm its
        # last change again: a 409, which wrk reports as a non-2xx response).
        local count=4000 rate run
        python3 host/benches/requested-changes.py "$base" "$token" "$count" "$body" "$change" >"$servers_work/confirm.paths"
        rate=$(awk '{print $3}' <<<"${summary[-1]}")
        run=$(awk -v c="$count" -v r="$rate" 'BEGIN { s = int(c / r / 1.5); print (s < 1 ? 1 : s) }')
        echo "## $name: POST /api/v1/orders/{id}/changes/{id}/confirm (${run}s, $connections connections)"
        load_one "$name" POST-change-confirm "$pid" -d "${run}s" -s "$servers_work/confirm.lua" "$base" -- "$servers_work/confirm.paths" 2
    fi
    echo "## $name: GET /api/v1/orders/{id} (${seconds}s, $connections connections)"
    load_one "$name" GET "$pid" -H "Authorization: Bearer $token" "$base/api/v1/orders/$id"
}

# The baseline: axum alone, answering the order document the last store served.
baseline() {
    local pid base
    "$bare" "$servers_work/order.json" >"$servers_work/bare.out" &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$servers_work/bare.out" && break; sleep 0.1; done
    base=$(sed -n 's/^bare listening on //p' "$servers_work/bare.out")
    measure bare "$base" any "$pid"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

for store in $stores; do
    case $store in
        embedded) load embedded ;;
        mongodb)
            [ -n "${ORDERFLOW_TEST_MONGODB_URL:-}" ] || start_mongodb
            load mongodb MONGODB_URL="$ORDERFLOW_TEST_MONGODB_URL" DATABASE_NAME="load_$(date +%s%N)"
            ;;
        *) echo "unknown store: $store" >&2; exit 1 ;;
    esac
done
baseline

echo "## Summary (requests/s; share of bare axum's, same run; server CPU per request)"
echo
echo "| server | request | requests/s | of bare axum | server CPU µs/request |"
echo "|---|---|---|---|---|"
for row in "${summary[@]}"; do
    read -r name request rate cpu <<<"$row"
    for base in "${summary[@]}"; do
        read -r bname brequest brate _ <<<"$base"
        if [ "$bname" = bare ] && [ "$brequest" = "${request%%-*}" ]; then
            awk -v n="$name" -v r="$request" -v a="$rate" -v b="$brate" -v c="$cpu" \
                'BEGIN { printf "| %s | %s | %.0f | %.1f %% | %s |\n", n, r, a, 100 * a / b, c }'
        fi
    done
done

echo
echo "## /health under the varied POST load (wrk, one connection beside the load's)"
echo
echo "| server | p50 | p99 |"
echo "|---|---|---|"
for row in "${health[@]}"; do
    read -r name p50 p99 <<<"$row"
    echo "| $name | $p50 | $p99 |"
done
