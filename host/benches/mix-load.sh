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
