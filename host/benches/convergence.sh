#!/usr/bin/env bash
# Plugin registry convergence across replicas: three replicas of the release build on one
# MongoDB, 20 activations (ACTIVATIONS to change) made in turn on each, each timed from
# its answer to the last replica serving the new version (each replica's
# GET /api/v1/plugins/{name}, polled every 10 ms). Prints p50 and max.
#   bash host/benches/convergence.sh
# MongoDB is the test server of tests/servers.sh unless ORDERFLOW_TEST_MONGODB_URL names
# another.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/servers.sh
[ -n "${ORDERFLOW_TEST_MONGODB_URL:-}" ] || start_mongodb
cargo test --release -q -p orderflow --test replicas -- --ignored --nocapture convergence_benchmark 2>&1 |
    grep -E '^convergence|FAILED|panicked'
