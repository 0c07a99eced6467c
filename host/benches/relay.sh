#!/usr/bin/env bash
# The relay benchmark (host/benches/relay.rs) with the tansu broker it needs.
#   bash host/benches/relay.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/servers.sh
[ -n "${ORDERFLOW_TEST_TANSU:-}" ] || install_tansu
cargo bench -q -p orderflow --bench relay
