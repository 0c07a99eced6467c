# Test servers, for sourcing: `tests/run.sh` and the benchmarks start what they need with
# these functions, and everything started is stopped when the sourcing script exits.
#
# Installed once into $ORDERFLOW_TOOLS (default ~/.cache/orderflow), keyed by version, and
# reused:
# - MongoDB: secantusdb (a MongoDB-wire server from PyPI, WiredTiger inside, transactions
#   included) in a virtualenv, in memory, on a free port.
# - Kafka: tansu (a Kafka-protocol broker from crates.io; ~10 minutes to build once on 2
#   cores). Tests start their own brokers with it (they stop and restart them), so this
#   only installs it and names the binary.
# - schemathesis (from PyPI, in a virtualenv): the contract test runs it against the
#   service's /openapi.json.
# - openapi-spec-validator and openapi-python-client (from PyPI, a virtualenv each): the
#   contract tests validate /openapi.json as OpenAPI 3.1 with the first, and generate a
#   Python client from it with the second, which they drive an order through.

tools=${ORDERFLOW_TOOLS:-$HOME/.cache/orderflow}
secantusdb_version=0.7.0b3
tansu_version=0.6.0
schemathesis_version=4.32.5
openapi_spec_validator_version=0.9.0
openapi_python_client_version=0.29.1
servers_work=$(mktemp -d)
server_pids=()

stop_servers() {
    for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$servers_work"
}
trap stop_servers EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something listens on 127.0.0.1:$1; $2 names the server (and its log).
wait_for_port() {
    for _ in $(seq 150); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.2
    done
    echo "$2 did not start on port $1:" >&2
    cat "$servers_work/$2.log" >&2 || true
    exit 1
}

# Starts an in-memory MongoDB-wire server and sets ORDERFLOW_TEST_MONGODB_URL to it.
start_mongodb() {
    local venv=$tools/secantusdb-$secantusdb_version port
    if [ ! -x "$venv/bin/secantusd-py" ]; then
        echo "installing secantusdb $secantusdb_version into $venv" >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet "secantusdb==$secantusdb_version"
    fi
    port=$(free_port)
    "$venv/bin/secantusd-py" --host 127.0.0.1 --port "$port" --storage-path :memory: \
        >"$servers_work/mongodb.log" 2>&1 &
    server_pids+=($!)
    wait_for_port "$port" mongodb
    # The server drops connections idle for 300 s: the driver must retire them first.
    export ORDERFLOW_TEST_MONGODB_URL="mongodb://127.0.0.1:$port/?directConnection=true&maxIdleTimeMS=120000"
}

# Installs tansu if needed and sets ORDERFLOW_TEST_TANSU to its binary.
install_tansu() {
    local root=$tools/tansu-$tansu_version
    if [ ! -x "$root/bin/tansu" ]; then
        echo "building tansu $tansu_version into $root (once; ~10 minutes)" >&2
        # The memory:// storage engine the tests use needs the dynostore feature.
        cargo install tansu --version "$tansu_version" --locked --no-default-features \
            --features dynostore --root "$root"
    fi
    export ORDERFLOW_TEST_TANSU=$root/bin/tansu
}

# Installs the PyPI package $1 at version $2 into a virtualenv of its own if needed, and
# sets the variable $3 to its command $1.
install_pip_tool() {
    local venv=$tools/$1-$2
    if [ ! -x "$venv/bin/$1" ]; then
        echo "installing $1 $2 into $venv" >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet "$1==$2"
    fi
    export "$3=$venv/bin/$1"
}

# ORDERFLOW_TEST_SCHEMATHESIS: the contract test's schemathesis.
install_schemathesis() {
    install_pip_tool schemathesis "$schemathesis_version" ORDERFLOW_TEST_SCHEMATHESIS
}

# ORDERFLOW_TEST_OPENAPI_VALIDATOR: openapi-spec-validator.
install_openapi_validator() {
    install_pip_tool openapi-spec-validator "$openapi_spec_validator_version" \
        ORDERFLOW_TEST_OPENAPI_VALIDATOR
}

# ORDERFLOW_TEST_OPENAPI_CLIENT: openapi-python-client; the generated client runs on the
# same virtualenv's python (httpx and attrs come with the generator).
install_openapi_client() {
    install_pip_tool openapi-python-client "$openapi_python_client_version" \
        ORDERFLOW_TEST_OPENAPI_CLIENT
}
