#!/usr/bin/env bash
# The plugins written in JavaScript and Python: runs the unit tests of their SDKs
# (plugins/sdk-js, plugins/sdk-py); installs their pinned toolchains (jco from the plugin's
# package-lock.json, componentize-py by plugins/toolchains.sh, cached in ~/.cache/orderflow),
# runs each plugin's unit tests in its language's own runner, builds its component, and runs
# the standard pricing fixtures through the component with `orderflow plugin test`, as the
# host would run it; then builds each again without the toolchain's WASI stubs and runs the
# fixtures through that too (the host grants such a component deterministic stand-ins:
# host/src/plugins/runtime/wasi.rs). Last, it tests, builds and tries each kind's project that
# `orderflow plugin new --lang js|python` writes, and the standard pricing rule as `plugin new
# --from standard-pricing` writes it in Rust, JavaScript and Python, each outside the
# repository. tests/run.sh calls this before the Rust suite.
#   bash plugins/languages.sh [--ship]
# Needs Node.js ≥ 20.19 with npm, and Python ≥ 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=plugins/standard-pricing/fixtures
cargo build -q -p orderflow --bin orderflow
orderflow=$(realpath target/debug/orderflow)

echo "== plugins/sdk-js, plugins/sdk-py" >&2
(cd plugins/sdk-js && npm test)
(cd plugins/sdk-py && python3 -m unittest)

echo "== plugins/standard-pricing-js" >&2
(cd plugins/standard-pricing-js && npm ci --no-fund --no-audit --loglevel=error && npm test && npm run build)
"$orderflow" plugin test plugins/standard-pricing-js/standard-pricing.wasm "$fixtures"
# The service ships this component built (plugins/shipped/, published by host/build.rs), so
# it runs without Node. Builds are not byte-for-byte reproducible, so what is checked is
# that it was built from these sources (their digest, recorded beside it) and that it
# passes the fixtures. `bash plugins/languages.sh --ship` replaces it with this build.
shipped=plugins/shipped/standard-pricing-js
# The component is built of the port's modules and the SDK's (plugins/sdk-js).
sources=$(cd plugins/standard-pricing-js &&
    cat package.json package-lock.json src/*.js ../sdk-js/package.json ../sdk-js/*.js \
        ../../wit/since_v0.5.0/*.wit | sha256sum | cut -d' ' -f1)
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
# Its tests take the SDK from plugins/sdk-py, as build.sh packs it.
(cd plugins/standard-pricing-py && PYTHONPATH=../sdk-py python3 -m unittest)
"$orderflow" plugin test plugins/standard-pricing-py/standard-pricing.wasm "$fixtures"
bash plugins/standard-pricing-py/build.sh --unstubbed "$unstubbed/py.wasm"
"$orderflow" plugin test "$unstubbed/py.wasm" "$fixtures"

echo "== orderflow plugin new" >&2
# Each kind's JavaScript and Python project as `plugin new` writes it, and the standard
# pricing rule in each language as `plugin new --from standard-pricing` does, outside the
# repository: the test and build commands it prints, then the `plugin test` of its fixtures
# through its component, which must be this orderflow's. npm's cache and the toolchains'
# componentize-py keep installs and builds short; a Rust crate builds offline (the crates it
# needs are those the workspace's build fetched) into a target directory kept in target/.
(
    new=$(mktemp -d)
    trap 'rm -rf "$new"' EXIT
    # shellcheck source=toolchains.sh
    source plugins/toolchains.sh
    install_componentize_py
    export COMPONENTIZE_PY=$ORDERFLOW_COMPONENTIZE_PY
    export npm_config_prefer_offline=true npm_config_audit=false npm_config_fund=false \
        npm_config_loglevel=error CARGO_NET_OFFLINE=true
    crates=$PWD/target/languages-plugin-new
    mkdir -p "$crates"
    # plugin_new KIND NAME ARGS…: writes the plugin into $new and tries it.
    plugin_new() {
        local kind=$1 name=$2
        shift 2
        echo "== plugin new $kind $name $*" >&2
        local printed
        printed=$("$orderflow" plugin new "$kind" "$name" "$@" --dir "$new")
        # The three commands after "next, from …:": test, build, try.
        mapfile -t next < <(sed -n '/^next, /,$p' <<<"$printed" | sed -n 's/^  //p')
        case ${next[2]} in
            "$orderflow plugin test "*" fixtures") ;;
            *) echo "plugin new printed: $printed" >&2 && return 1 ;;
        esac
        (
            cd "$new/$name"
            [ ! -f Cargo.toml ] || ln -s "$crates" target
            bash -c "${next[0]}"
            bash -c "${next[1]}"
            bash -c "${next[2]}" | tee "$new/tried"
        )
        grep -Eq '^[1-9][0-9]* passed, 0 failed$' "$new/tried"
    }
    for lang in js python; do
        for kind in validation pricing lifecycle; do
            plugin_new "$kind" "my-$kind-$lang" --lang "$lang"
            # Each kind's template logs on one of its fixtures (pricing: the refused
            # discount code), through the host's `log` import, which `plugin test` prints
            # under it.
            grep -q '^       info  ' "$new/tried"
        done
    done
    for lang in rust js python; do
        plugin_new pricing "standard-pricing-$lang" --lang "$lang" --from standard-pricing
    done
)
