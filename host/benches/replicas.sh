#!/usr/bin/env bash
# POST /api/v1/orders/ throughput with 1, 2 and 3 replicas of the service on one MongoDB, the
# same number of connections split evenly over them (one wrk per replica, run together), each replica with its own
# DATA_DIR and REPLICA_ID, as in production behind a load balancer. The figures are given as
# ratios to one replica in the same run. With the MongoDB-wire test server (a Python
# process) the database is the bottleneck: more replicas cannot raise the rate much past
# what it accepts, and the run says so by the ratios.
#   bash host/benches/replicas.sh [seconds] [connections in all]
# MongoDB is the test server of tests/servers.sh unless ORDERFLOW_TEST_MONGODB_URL names
# another. Needs wrk (Debian: apt-get install wrk). Everything shares this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-48}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
source tests/servers.sh
[ -n "${ORDERFLOW_TEST_MONGODB_URL:-}" ] || start_mongodb
cargo build --release -q -p orderflow --bin orderflow
bin=$PWD/target/release/orderflow
source host/benches/post-order.sh

# Starts replica $1 of a run on database $2; sets replica_url to its base URL.
start_replica() {
    local name=$1 database=$2 out=$servers_work/$1.out
    env DATA_DIR="$servers_work/data-$name" REPLICA_ID="$name" HOST=127.0.0.1 PORT=0 \
        MONGODB_URL="$ORDERFLOW_TEST_MONGODB_URL" DATABASE_NAME="$database" \
        "$bin" serve >"$out" 2>"$servers_work/$name.err" &
    server_pids+=($!)
    replica_pids+=($!)
    for _ in $(seq 150); do grep -q listening "$out" && break; sleep 0.1; done
    replica_url=$(sed -n 's/^orderflow listening on //p' "$out")
    [ -n "$replica_url" ] || { cat "$servers_work/$name.err" >&2; exit 1; }
}

declare -A rate
for replicas in 1 2 3; do
    replica_pids=()
    database="replicas_${replicas}_$(date +%s%N)"
    urls=()
    for i in $(seq "$replicas"); do
        start_replica "r$replicas-$i" "$database"
        urls+=("$replica_url")
    done
    each=$((connections / replicas))
    echo "## $replicas replica(s): POST /api/v1/orders/ (${seconds}s, $each connections each)"
    wrk_pids=()
    for url in "${urls[@]}"; do
        wrk -t1 -c"$each" -d"${seconds}s" -s "$servers_work/post.lua" "$url/api/v1/orders/" \
            >"$servers_work/wrk-$replicas-${url##*:}.txt" &
        wrk_pids+=($!)
    done
    wait "${wrk_pids[@]}"
    total=0
    for url in "${urls[@]}"; do
        r=$(awk '/^Requests\/sec/ {print $2}' "$servers_work/wrk-$replicas-${url##*:}.txt")
        non2xx=$(awk '/Non-2xx/ {print $NF}' "$servers_work/wrk-$replicas-${url##*:}.txt")
        echo "  $url: $r requests/s${non2xx:+, $non2xx not 2xx}"
        total=$(awk -v a="$total" -v b="$r" 'BEGIN { print a + b }')
    done
    rate[$replicas]=$total
    # Stop this run's replicas before the next run starts.
    for pid in "${replica_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${replica_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
done

echo
echo "## Summary (POST requests/s over all replicas; ratio to one replica, same run)"
echo
echo "| replicas | requests/s | of one replica |"
echo "|---|---|---|"
for replicas in 1 2 3; do
    awk -v n="$replicas" -v a="${rate[$replicas]}" -v b="${rate[1]}" \
        'BEGIN { printf "| %d | %.0f | %.2f× |\n", n, a, a / b }'
done
