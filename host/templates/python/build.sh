#!/usr/bin/env bash
# Builds {{name}}.wasm, a component of the {{kind}}-plugin world of wit/orderflow.wit
# (orderflow:plugins@0.5.0), of this directory's modules (all but the tests) and the SDK's
# package (orderflow_sdk/) with componentize-py: `$COMPONENTIZE_PY` if set, else the one requirements.txt pins, installed
# by hash into .venv on the first build. Every WASI import of the component (CPython's) is a
# stub that traps: the rules need none, and an instance without WASI is cheaper to make.
#   bash build.sh   (from anywhere)
#
# The component is ~18 MB, nearly all of it CPython. Builds are not byte-for-byte
# reproducible (each has a new digest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ -z "${COMPONENTIZE_PY:-}" ]; then
    # `.installed` marks a virtualenv whose install finished: an interrupted one is redone.
    if [ ! -f .venv/.installed ]; then
        rm -rf .venv
        python3 -m venv .venv
        .venv/bin/pip install --quiet --disable-pip-version-check --require-hashes \
            --only-binary=:all: -r requirements.txt
        touch .venv/.installed
    fi
    COMPONENTIZE_PY=.venv/bin/componentize-py
fi
# componentize-py packs the files of its Python path into the component, so the path is a
# scratch directory holding the modules and the SDK's and nothing else (not the tests, .venv/
# or __pycache__/), and never an active virtualenv's site-packages.
unset VIRTUAL_ENV
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for module in *.py; do
    case $module in
        test_*) ;;
        *) cp "$module" "$stage/" ;;
    esac
done
mkdir "$stage/orderflow_sdk"
cp orderflow_sdk/*.py "$stage/orderflow_sdk/"
"$COMPONENTIZE_PY" -q -d wit -w {{kind}}-plugin componentize --stub-wasi -p "$stage" app \
    -o {{name}}.wasm
ls -l {{name}}.wasm
