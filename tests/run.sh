#!/usr/bin/env bash
# The test command (README, CI): builds and runs every test. Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked --all-targets
# Doc tests are not part of --all-targets.
cargo test --locked --doc
