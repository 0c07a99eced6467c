# Toolchains of the plugins not written in Rust, for sourcing: a script that builds a
# JavaScript or Python plugin calls `install_jco` or `install_componentize_py` first.
#
# Installed once into $ORDERFLOW_TOOLS (default ~/.cache/orderflow), keyed by version, and
# reused (a second call only tests that a file is there). An install that fails or is
# interrupted is never taken for a finished one: jco is installed beside its place and
# moved there when it worked; componentize-py's virtualenv is marked when it is.
# - jco (npm: @bytecodealliance/jco) makes a component of an ES module; its QuickJS
#   backend (`--backend qjs`: componentize-qjs, a dependency of jco, with a prebuilt
#   binding per platform) makes the standard pricing rule a component of ~1.7 MB. Here
#   jco's version is exact and its dependencies resolve within its own ranges when it is
#   installed (npm keeps the lock file it wrote beside it); a plugin's package.json and
#   package-lock.json pin the same jco and every dependency (`npm ci`), and its unit tests
#   check that the two versions agree.
# - componentize-py (PyPI) makes a component of a Python module, CPython inside (a
#   component of ~18 MB). Installed by hash (every platform's wheel is listed; it has no
#   dependencies); the Python plugin's requirements.txt pins the same version and hashes,
#   and its unit tests check that they agree.

tools=${ORDERFLOW_TOOLS:-$HOME/.cache/orderflow}
jco_version=1.35.0
componentize_py_version=0.25.1
# `pip hash` of each platform's wheel of componentize-py $componentize_py_version.
componentize_py_hashes=(
    sha256:8623cd8cab8453cb0cd8bf03f3c7103420d06f2f3d360186a280a70a1ca5e89f # manylinux_2_28_x86_64
    sha256:7b6a87c520358166843af0daa86d2312d7af4cbcbbf1e598951085cf7f2991ca # manylinux_2_28_aarch64
    sha256:a556991534cc496207a9d2ca733c4b0f17ed38ef56a8d6b5f1847fdf1225dd1b # macosx_11_0_arm64
    sha256:65fbc4a94df1de8acf7da50a1f5ed1711230188844e53e6332d99029be4e0afa # macosx_10_12_x86_64
    sha256:c7fd552fb0849858b0c1e8981543ed5dff4b0cc1597a8ea0bc26a495786dc0c6 # win_amd64
)

# Installs jco if needed (needs node ≥ 20 and npm), puts it on PATH and sets
# ORDERFLOW_JCO to its executable.
install_jco() {
    local root=$tools/jco-$jco_version
    if [ ! -x "$root/node_modules/.bin/jco" ]; then
        echo "installing jco $jco_version into $root" >&2
        local scratch=$root.partial.$$
        rm -rf "$scratch"
        mkdir -p "$scratch" || return 1
        # --prefix keeps the install (and the lock file npm writes for it) in $scratch.
        if ! npm install --prefix "$scratch" --no-fund --no-audit --loglevel=error \
            "@bytecodealliance/jco@$jco_version" >&2; then
            rm -rf "$scratch"
            echo "installing jco $jco_version failed" >&2
            return 1
        fi
        rm -rf "$root"
        mv "$scratch" "$root"
    fi
    export ORDERFLOW_JCO=$root/node_modules/.bin/jco
    case ":$PATH:" in
        *":$root/node_modules/.bin:"*) ;;
        *) export PATH=$root/node_modules/.bin:$PATH ;;
    esac
}

# Installs componentize-py if needed (in a virtualenv, by hash), puts it on PATH and sets
# ORDERFLOW_COMPONENTIZE_PY to its executable.
install_componentize_py() {
    local venv=$tools/componentize-py-$componentize_py_version
    # A virtualenv's scripts name its directory, so it is made in place; `.installed`
    # marks one whose install finished.
    if [ ! -f "$venv/.installed" ] || [ ! -x "$venv/bin/componentize-py" ]; then
        echo "installing componentize-py $componentize_py_version into $venv" >&2
        local requirement="componentize-py==$componentize_py_version" hash
        for hash in "${componentize_py_hashes[@]}"; do
            requirement+=" --hash=$hash"
        done
        rm -rf "$venv"
        if ! { python3 -m venv "$venv" &&
            echo "$requirement" >"$venv/requirements.txt" &&
            "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
                --only-binary=:all: -r "$venv/requirements.txt" >&2 &&
            touch "$venv/.installed"; }; then
            rm -rf "$venv"
            echo "installing componentize-py $componentize_py_version failed" >&2
            return 1
        fi
    fi
    export ORDERFLOW_COMPONENTIZE_PY=$venv/bin/componentize-py
    case ":$PATH:" in
        *":$venv/bin:"*) ;;
        *) export PATH=$venv/bin:$PATH ;;
    esac
}
