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

cargo build --release --locked --quiet
cargo bench --locked --quiet --bench synth_inventory -- "$N" > "$WORK/inventory.json"
bytes=$(stat -c %s "$WORK/inventory.json")
echo "inventory: $N deployments, $((bytes / 1024 / 1024)) MiB ($((bytes / N)) bytes per deployment)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# Warm the page cache so the first run does not measure the disk.
cat "$WORK/inventory.json" > /dev/null
results=()
for run in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/time" \
        target/release/ecaudit scan --inventory "$WORK/inventory.json" --format json \
        --output "$WORK/result.json" --exit-zero 2> /dev/null
    read -r secs kib < "$WORK/time"
    echo "run $run: ${secs}s, peak RSS $((kib / 1024)) MiB"
    results+=("$secs $kib")
done
out=$(stat -c %s "$WORK/result.json")
printf '%s\n' "${results[@]}" | sort -n | awk -v n="$N" -v out="$out" '
    { secs[NR] = $1; kib[NR] = $2; if ($2 > peak) peak = $2 }
    END {
        m = secs[int((NR + 1) / 2)];
        printf "median: %.2fs, %d deployments/s, peak RSS %d MiB, result %d MiB\n", m, n / m, peak / 1024, out / 1048576
    }'
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"
