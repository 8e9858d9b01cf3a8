#!/usr/bin/env bash
# The test command (README, CI): installs what the tests need, then builds and runs every test.
#
# The integration tests talk to moto server (tests/moto/), installed here into .venv from the
# pinned tests/moto/requirements.txt; each test starts its own server on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests need besides Rust, installed while the tests compile (mostly downloads).
prepare() {
    if ! "$venv/bin/python" -c "import moto, cbor2, junitparser, selenium" 2> /dev/null \
        || ! cmp -s tests/moto/requirements.txt "$venv/.requirements" ; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/moto/requirements.txt
        cp tests/moto/requirements.txt "$venv/.requirements"
    fi

    # Debian packages: the HTML report is checked in headless Chromium (tests/it/browser.rs) with
    # Debian's chromium and chromium-driver (the same build, so no browser download); the doctor
    # runs against real redis-server processes (tests/it/probe.rs, tests/it/doctor.rs; 7.0, built
    # with TLS), which the tests start on loopback themselves.
    packages=()
    command -v chromium > /dev/null || packages+=(chromium)
    command -v chromedriver > /dev/null || packages+=(chromium-driver)
    command -v redis-server > /dev/null || packages+=(redis-server)
    if [ ${#packages[@]} -gt 0 ]; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        export DEBIAN_FRONTEND=noninteractive
        $sudo apt-get install -y -q "${packages[@]}" > /dev/null \
            || { $sudo apt-get update -q > /dev/null && $sudo apt-get install -y -q "${packages[@]}" > /dev/null; }
        # The package starts a system server on 6379; the tests use their own.
        if [[ " ${packages[*]} " == *" redis-server "* ]]; then
            $sudo service redis-server stop > /dev/null 2>&1 || true
        fi
    fi
}
venv=.venv
export ECAUDIT_TEST_PYTHON="$PWD/$venv/bin/python"
prepare &
prepared=$!
cargo test --locked --no-run
wait "$prepared"

# Library, binary, integration and doc tests (clippy in .ci/run builds the benches).
cargo test --locked

# The bundled rule pack's test cases, as a rule author runs them, with the debug binary the tests
# built (`cargo run` would resolve features without the dev-dependencies and rebuild the SDK).
"${CARGO_TARGET_DIR:-target}/debug/ecaudit" rules test
