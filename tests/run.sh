#!/usr/bin/env bash
# The whole test suite: installs what the tests need (tests/install.sh: Chromium,
# chromedriver and axe-core for the console's browser tests), starts the servers the
# integration tests talk to (tests/servers.sh), builds and tests the JavaScript and Python
# plugins (plugins/languages.sh), runs `cargo test --workspace`, stops the servers. Extra
# arguments go to cargo test. Each install is done once and takes no time after.
#
# To test against a genuine MongoDB replica set instead of the test server, set
# ORDERFLOW_TEST_MONGODB_URL, e.g. to the compose file's mongo:
#   ORDERFLOW_TEST_MONGODB_URL='mongodb://localhost:27017/?directConnection=true' bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/install.sh
source tests/servers.sh

# host/build.rs builds the plugins for wasm32-unknown-unknown, the test suite's for
# wasm32-wasip2; plugins/languages.sh builds a Rust plugin outside the workspace.
rustup target add wasm32-unknown-unknown wasm32-wasip2 >/dev/null 2>&1 ||
    rustup target add wasm32-unknown-unknown wasm32-wasip2
install_browser
[ -n "${ORDERFLOW_TEST_AXE:-}" ] || install_axe

[ -n "${ORDERFLOW_TEST_MONGODB_URL:-}" ] || start_mongodb
[ -n "${ORDERFLOW_TEST_TANSU:-}" ] || install_tansu
[ -n "${ORDERFLOW_TEST_SCHEMATHESIS:-}" ] || install_schemathesis
[ -n "${ORDERFLOW_TEST_OPENAPI_VALIDATOR:-}" ] || install_openapi_validator
[ -n "${ORDERFLOW_TEST_OPENAPI_CLIENT:-}" ] || install_openapi_client

bash plugins/languages.sh
cargo test --workspace --locked "$@"
