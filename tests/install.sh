# What the tests need besides the Rust toolchain and the test servers, for sourcing:
# `tests/run.sh` (the test command) calls these; each is idempotent and returns at once when
# what it installs is there, doing nothing else (no package list update, no registry call).
#
# - install_browser: Debian's Chromium and chromedriver (/usr/bin/chromium,
#   /usr/bin/chromedriver), which the console's browser tests (host/tests/console.rs)
#   drive; apt-get, through sudo when not root.
# - install_axe: axe-core, the accessibility checker those tests run in every page, from
#   the npm registry at a pinned version into $ORDERFLOW_TOOLS (default ~/.cache/orderflow);
#   sets ORDERFLOW_TEST_AXE to its axe.min.js.

tools=${ORDERFLOW_TOOLS:-$HOME/.cache/orderflow}
axe_version=4.14.1

install_browser() {
    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && return 0
    echo "installing Debian's chromium and chromium-driver" >&2
    local sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver
}

install_axe() {
    local root=$tools/axe-core-$axe_version
    local script=$root/node_modules/axe-core/axe.min.js
    if [ ! -f "$script" ]; then
        command -v npm >/dev/null || {
            echo "install_axe needs npm (Node.js), as plugins/languages.sh does" >&2
            return 1
        }
        echo "installing axe-core $axe_version into $root" >&2
        # Into a fresh folder moved into place whole: an interrupted install leaves nothing
        # that the check above would take for a finished one.
        local partial=$root.partial.$$
        rm -rf "$partial"
        mkdir -p "$partial"
        if ! npm install --prefix "$partial" --no-save --no-audit --no-fund --loglevel=error \
            "axe-core@$axe_version" >&2; then
            rm -rf "$partial"
            return 1
        fi
        rm -rf "$root"
        mv "$partial" "$root"
    fi
    export ORDERFLOW_TEST_AXE=$script
}
