#!/usr/bin/env bash
# HTTP throughput of the service on the embedded store with the standard plugins, driven by
# wrk over loopback: POST /api/v1/orders/ and GET /api/v1/orders/{id}.
#   bash host/benches/http-load.sh [seconds] [connections]
# Needs wrk (Debian: apt-get install wrk). Server and load share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-64}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p orderflow
bin=$PWD/target/release/orderflow
work=$(mktemp -d)
export DATA_DIR=$work/data JWT_SECRET=load-test-secret-0123456789 RUST_LOG=warn
HOST=127.0.0.1 PORT=0 "$bin" serve >"$work/out" 2>"$work/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/out" && break; sleep 0.1; done
base=$(sed -n 's/^orderflow listening on //p' "$work/out")
[ -n "$base" ] || { cat "$work/err" >&2; exit 1; }
token=$("$bin" token --user load-tester)
body='{"items":[{"product_id":"prod-widget","quantity":2},{"product_id":"prod-gadget","quantity":1}],"shipping_address":{"full_name":"Ada Lovelace","address_line_1":"1 Market St","city":"San Francisco","state":"CA","postal_code":"94105","country":"US"},"shipping_method":"standard","payment_method":"card"}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
id=$(curl -sf -X POST "$base/api/v1/orders/" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$body" | sed 's/^{"id":"\([^"]*\)".*/\1/')

echo "## POST /api/v1/orders/ (${seconds}s, $connections connections)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" "$base/api/v1/orders/"
echo
echo "## GET /api/v1/orders/{id} (${seconds}s, $connections connections)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$base/api/v1/orders/$id"
