#!/usr/bin/env bash
# Engine benchmark (not a timed test): generates a synthetic inventory of N deployments
# (default 100000), then runs `ecaudit scan --inventory` on it end to end — parse, evaluate,
# JSON out — RUNS times (default 3) with a release build, and reports the median wall time,
# deployments per second and the peak resident memory.
#
#   benches/engine.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
RUNS=${2:-3}
WORK=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$WORK"

cargo build --release --locked --quiet
cargo run --release --locked --quiet --example synth_inventory -- "$N" > "$WORK/inventory.json"
bytes=$(stat -c %s "$WORK/inventory.json")
echo "inventory: $N deployments, $((bytes / 1024 / 1024)) MiB ($((bytes / N)) bytes per deployment)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# Warm the page cache so the first run does not measure the disk.
cat "$WORK/inventory.json" > /dev/null

# measure LABEL ARGS...: RUNS runs of `ecaudit scan` with ARGS; prints each run and the median.
measure() {
    local label=$1
    shift
    local results=()
    for run in $(seq 1 "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$WORK/time" \
            target/release/ecaudit scan --inventory "$WORK/inventory.json" --exit-zero "$@" 2> /dev/null
        read -r secs kib < "$WORK/time"
        echo "  run $run: ${secs}s, peak RSS $((kib / 1024)) MiB"
        results+=("$secs $kib")
    done
    printf '%s\n' "${results[@]}" | sort -n | awk -v n="$N" -v label="$label" '
        { secs[NR] = $1; if ($2 > peak) peak = $2 }
        END {
            m = secs[int((NR + 1) / 2)];
            printf "%s: median %.2fs, %d deployments/s, peak RSS %d MiB\n", label, m, n / m, peak / 1024
        }'
}

echo "end to end, every finding as JSON to a file:"
measure "full JSON" --format json --output "$WORK/result.json"
echo "  result: $(($(stat -c %s "$WORK/result.json") / 1024 / 1024)) MiB, $(grep -o '"total":[0-9]*' "$WORK/result.json" | head -1 | cut -d: -f2) findings"
echo "parse and evaluate, only critical findings written:"
measure "engine" --format json --severity critical --output "$WORK/critical.json"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"
