#!/usr/bin/env bash
# POST /api/v1/orders/ priced by the JavaScript pricing rule (the `js` channel's workflow,
# standard-js) against the same orders priced by the Rust rule (the default workflow), on one
# embedded service, alternating rounds so both see the same machine. Both workflows share
# validation and lifecycle; only pricing differs. Prints each round and the JavaScript
# rate as a share of the Rust one, with the server's CPU per request.
#   bash host/benches/languages-load.sh [seconds] [connections] [rounds] [items]
# items: order lines per order (default 2, as post-order.sh; 10 is the decisions benchmark's).
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-64}
rounds=${3:-3}
items=${4:-2}
source host/benches/mix-load.sh

lines=$(python3 -c "
import json, sys
products = [p['id'] for p in json.load(open('$servers_work/catalog.json'))][:$items]
print(json.dumps([{'product_id': p, 'quantity': 1} for p in products]))")
for channel in rust js; do
    order=$(python3 -c "
import json
body = json.loads('''$body''')
body['items'] = json.loads('''$lines''')
if '$channel' == 'js':
    body['sales_channel'] = 'js'
print(json.dumps(body, separators=(',', ':')))")
    post_script "$servers_work/post-$channel.lua" "$order"
done

serve_embedded languages
# Both channels answer before the clock starts (the JavaScript workflow compiles on start).
for channel in rust js; do
    lua=$servers_work/post-$channel.lua
    order=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$lua")
    for _ in $(seq 600); do
        curl -sf -o /dev/null -X POST "$base/api/v1/orders/" -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/json' -d "$order" && break
        sleep 0.1
    done
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
echo "| round | pricing | requests/s | server CPU µs/request |"
echo "|---|---|---|---|"
declare -A total
for round in $(seq "$rounds"); do
    for channel in rust js; do
        before=$(cpu_ticks "$pid")
        out=$(wrk -t2 -c"$connections" -d"${seconds}s" -s "$servers_work/post-$channel.lua" "$base/api/v1/orders/")
        rate=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
        cpu=$(awk -v b="$before" -v a="$(cpu_ticks "$pid")" -v hz="$(getconf CLK_TCK)" \
            '/requests in/ { printf "%.1f", (a - b) * 1e6 / hz / $1 }' <<<"$out")
        echo "| $round | $channel | $rate | $cpu |"
        total[$channel]=$(awk -v t="${total[$channel]:-0}" -v r="$rate" 'BEGIN { print t + r }')
    done
done
awk -v js="${total[js]}" -v rust="${total[rust]}" -v items="$items" \
    'BEGIN { printf "\nPOST with JavaScript pricing: %.1f %% of POST with Rust pricing (%d items an order, mean of the rounds)\n", 100 * js / rust, items }'
