#!/usr/bin/env bash
# The whole test suite: starts the servers the integration tests talk to, runs
# `cargo test --workspace`, stops the servers. Extra arguments go to cargo test.
#
# Servers, installed once into $ORDERFLOW_TOOLS (default ~/.cache/orderflow) and reused:
# - MongoDB: secantusdb (a MongoDB-wire server from PyPI) in a virtualenv, in memory, on a
#   free port. To test against a genuine MongoDB replica set instead, set
#   ORDERFLOW_TEST_MONGODB_URL (e.g. the compose file's mongo:
#   mongodb://localhost:27017/?directConnection=true) and none is started.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=${ORDERFLOW_TOOLS:-$HOME/.cache/orderflow}
secantusdb_version=0.7.0b3
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something listens on 127.0.0.1:$1; $2 names it for the error.
wait_for_port() {
    for _ in $(seq 150); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.2
    done
    echo "$2 did not start on port $1:" >&2
    cat "$work/$2.log" >&2 || true
    exit 1
}

if [ -z "${ORDERFLOW_TEST_MONGODB_URL:-}" ]; then
    venv=$tools/secantusdb-$secantusdb_version
    if [ ! -x "$venv/bin/secantusd-py" ]; then
        echo "installing secantusdb $secantusdb_version into $venv" >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet "secantusdb==$secantusdb_version"
    fi
    port=$(free_port)
    "$venv/bin/secantusd-py" --host 127.0.0.1 --port "$port" --storage-path :memory: \
        >"$work/mongodb.log" 2>&1 &
    pids+=($!)
    wait_for_port "$port" mongodb
    # The server drops connections idle for 300 s: the driver must retire them first.
    export ORDERFLOW_TEST_MONGODB_URL="mongodb://127.0.0.1:$port/?directConnection=true&maxIdleTimeMS=120000"
fi

cargo test --workspace --locked "$@"
