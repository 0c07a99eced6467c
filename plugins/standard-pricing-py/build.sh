#!/usr/bin/env bash
# Builds standard-pricing.wasm, a component of the pricing-plugin world of
# wit/since_v0.5.0 (orderflow:plugins@0.5.0), of app.py, rules.py and the SDK's package
# (plugins/sdk-py/orderflow_sdk) with componentize-py (installed once, pinned, by
# plugins/toolchains.sh). Every WASI import of the component (CPython's) is a stub that
# traps: none is needed, and an instance without WASI is cheaper to make. With --unstubbed OUT the component imports WASI as built and is written to OUT
# (the host grants it deterministic stand-ins). Also writes the bindings into bindings/,
# where the unit tests find them to test the glue natively.
#   bash plugins/standard-pricing-py/build.sh [--unstubbed OUT]   (from anywhere)
#
# The component is ~18.4 MB, nearly all of it CPython (the upload route takes up to 64 MiB).
# Builds are not byte-for-byte reproducible (each has a new digest).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stub=(--stub-wasi)
out=standard-pricing.wasm
if [ "${1:-}" = --unstubbed ]; then
    stub=()
    out=$(realpath "$2")
fi
# shellcheck source=../toolchains.sh
source "$here/../toolchains.sh"
install_componentize_py
cd "$here"
wit=../../wit/since_v0.5.0
# componentize-py packs the files of its Python path into the component, so the path is a
# scratch directory holding the modules and the SDK's and nothing else (not the tests,
# bindings/ or __pycache__/), and never an active virtualenv's site-packages.
unset VIRTUAL_ENV
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp app.py rules.py "$stage/"
mkdir "$stage/orderflow_sdk"
cp ../sdk-py/orderflow_sdk/*.py "$stage/orderflow_sdk/"
rm -rf bindings
"$ORDERFLOW_COMPONENTIZE_PY" -q -d "$wit" -w pricing-plugin bindings bindings
"$ORDERFLOW_COMPONENTIZE_PY" -q -d "$wit" -w pricing-plugin componentize "${stub[@]}" \
    -p "$stage" app -o "$out"
ls -l "$out"
