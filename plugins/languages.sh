#!/usr/bin/env bash
# The plugins written in JavaScript and Python: installs their pinned toolchains (jco from
# the plugin's package-lock.json, componentize-py by plugins/toolchains.sh, cached in
# ~/.cache/orderflow), runs each plugin's unit tests in its language's own runner, builds
# its component, and runs the standard pricing fixtures through the component with
# `orderflow plugin test`, as the host would run it; then builds each again without the
# toolchain's WASI stubs and runs the fixtures through that too (the host grants such a
# component deterministic stand-ins: host/src/runtime/wasi.rs). tests/run.sh calls this
# before the Rust suite.
#   bash plugins/languages.sh [--ship]
# Needs Node.js ≥ 20.19 with npm, and Python ≥ 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=plugins/standard-pricing/fixtures
cargo build -q -p orderflow --bin orderflow
orderflow=$PWD/target/debug/orderflow

echo "== plugins/standard-pricing-js" >&2
(cd plugins/standard-pricing-js && npm ci --no-fund --no-audit --loglevel=error && npm test && npm run build)
"$orderflow" plugin test plugins/standard-pricing-js/standard-pricing.wasm "$fixtures"
# The service ships this component built (plugins/shipped/, published by host/build.rs), so
# it runs without Node. Builds are not byte-for-byte reproducible, so what is checked is
# that it was built from these sources (their digest, recorded beside it) and that it
# passes the fixtures. `bash plugins/languages.sh --ship` replaces it with this build.
shipped=plugins/shipped/standard-pricing-js
sources=$(cd plugins/standard-pricing-js &&
    cat package.json package-lock.json src/*.js ../../wit/since_v0.2.0/*.wit | sha256sum | cut -d' ' -f1)
if [ "${1:-}" = --ship ]; then
    cp plugins/standard-pricing-js/standard-pricing.wasm "$shipped.wasm"
    echo "$sources" > "$shipped.sources"
elif [ "$(cat "$shipped.sources")" != "$sources" ]; then
    echo "$shipped.wasm was built from other sources than plugins/standard-pricing-js:" \
        "run bash plugins/languages.sh --ship and commit it" >&2
    exit 1
fi
"$orderflow" plugin test "$shipped.wasm" "$fixtures"
unstubbed=$(mktemp -d)
trap 'rm -rf "$unstubbed"' EXIT
(cd plugins/standard-pricing-js && npm run -s componentize -- --out "$unstubbed/js.wasm" >/dev/null)
"$orderflow" plugin test "$unstubbed/js.wasm" "$fixtures"

echo "== plugins/standard-pricing-py" >&2
bash plugins/standard-pricing-py/build.sh
(cd plugins/standard-pricing-py && python3 -m unittest)
"$orderflow" plugin test plugins/standard-pricing-py/standard-pricing.wasm "$fixtures"
bash plugins/standard-pricing-py/build.sh --unstubbed "$unstubbed/py.wasm"
"$orderflow" plugin test "$unstubbed/py.wasm" "$fixtures"
