#!/usr/bin/env bash
# The test command (README, CI): builds and runs every test. Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Library, binary, integration and doc tests (clippy in .ci/run builds the benches).
cargo test --locked
