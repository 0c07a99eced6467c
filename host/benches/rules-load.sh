#!/usr/bin/env bash
# Safe rule changes under load, on one embedded service:
# 1. POST /api/v1/orders/ with the standard pricing plugin shadowed on 100 % of orders (by a
#    stored version: the active one, so the shadow does the same work as the order) against
#    no shadow, alternating rounds so both see the same machine; prints each round, the
#    shadowed rate as a share of the plain one, and what the shadow compared and dropped.
# 2. A replay of the newest N orders those rounds placed: how many orders a second it
#    decides again (each order twice: the candidate, and the active version for its fuel).
#   bash host/benches/rules-load.sh [seconds] [connections] [rounds] [replayed orders]
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-32}
rounds=${3:-3}
replayed=${4:-10000}
source host/benches/mix-load.sh
admin=$("$bin" token --user ops --admin)

serve_embedded rules
plugin=$base/api/v1/plugins/standard-pricing
api() { curl -sf -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' "$@"; }
field() { python3 -c "import json, sys; print(eval('json.load(sys.stdin)' + sys.argv[1]))" "$1"; }
digest=$(api "$plugin" | field "['digest']")

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
echo "| round | shadow | requests/s | server CPU µs/request |"
echo "|---|---|---|---|"
declare -A total
for round in $(seq "$rounds"); do
    for shadow in none 100%; do
        if [ "$shadow" = none ]; then
            api -X DELETE "$plugin/shadow" >/dev/null
        else
            api -X POST "$plugin/shadow" -d "{\"digest\":\"$digest\",\"percent\":100}" >/dev/null
        fi
        before=$(cpu_ticks "$pid")
        out=$(wrk -t2 -c"$connections" -d"${seconds}s" -s "$servers_work/post.lua" "$base/api/v1/orders/")
        rate=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
        cpu=$(awk -v b="$before" -v a="$(cpu_ticks "$pid")" -v hz="$(getconf CLK_TCK)" \
            '/requests in/ { printf "%.1f", (a - b) * 1e6 / hz / $1 }' <<<"$out")
        echo "| $round | $shadow | $rate | $cpu |"
        total[$shadow]=$(awk -v t="${total[$shadow]:-0}" -v r="$rate" 'BEGIN { print t + r }')
        # The shadow drains what it was handed before the next round is measured.
        [ "$shadow" = none ] || sleep 2
    done
done
api -X POST "$plugin/shadow" -d "{\"digest\":\"$digest\",\"percent\":100}" >/dev/null
sleep 2
api "$plugin/shadow" | python3 -c "
import json, sys
s = json.load(sys.stdin)['observed']
r = s['report']
print(f\"\nshadow since its last start: {r['compared']} compared, {r['identical']} identical, {s['dropped']} dropped\")"
api -X DELETE "$plugin/shadow" >/dev/null
awk -v s="${total[100%]}" -v n="${total[none]}" \
    'BEGIN { printf "POST with a 100 %% shadow: %.1f %% of POST without (mean of the rounds)\n", 100 * s / n }'

id=$(api -X POST "$plugin/replays" -d "{\"digest\":\"$digest\",\"limit\":$replayed}" | field "['id']")
for _ in $(seq 6000); do
    replay=$(api "$plugin/replays/$id")
    [ "$(field "['state']" <<<"$replay")" = running ] || break
    sleep 0.1
done
python3 -c "
import json, sys
r = json.loads(sys.argv[1])
print(f\"replay of {r['progress']['done']} orders ({r['state']}): {r['orders_per_second']:,.0f} orders/s, \"
      f\"{r['report']['identical']} identical, fuel p50 {r['report']['fuel']['candidate']['p50']:,}\")" "$replay"
