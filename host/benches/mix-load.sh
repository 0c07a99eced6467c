# Sourced first by the benchmarks that load the service with the traffic mix, from the
# repository's root: checks for wrk, takes tests/servers.sh (its servers stop with the
# script), builds the release binary ($bin), and writes the fixed order and its token
# (post-order.sh) and the traffic mix (traffic-mix.sh).
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
source tests/servers.sh
cargo build --release -q -p orderflow --bin orderflow
bin=$PWD/target/release/orderflow
source host/benches/post-order.sh
source host/benches/traffic-mix.sh

# Starts an embedded service named $1 on the benchmarks' catalog, with data of its own, and
# waits for it: $pid and $base (its URL). It stops, and its data goes, with the test servers.
serve_embedded() {
    env DATA_DIR="$servers_work/data-$1" CATALOG_FILE="$servers_work/catalog.json" \
        HOST=127.0.0.1 PORT=0 "$bin" serve >"$servers_work/$1.out" 2>"$servers_work/$1.err" &
    pid=$!
    server_pids+=("$pid")
    for _ in $(seq 600); do grep -q listening "$servers_work/$1.out" && break; sleep 0.1; done
    base=$(sed -n 's/^orderflow listening on //p' "$servers_work/$1.out")
    [ -n "$base" ] || { cat "$servers_work/$1.err" >&2; exit 1; }
}
