#!/usr/bin/env bash
# Plan benchmark (not a timed test): a synthetic plan of N caches (default 100: 500 resources
# with their security groups, parameter groups and alarms, plus the VPC, subnets and subnet
# group) judged end to end by `ecaudit plan` (release build) RUNS times (default 10); the median
# wall time and peak RSS are reported. With checkov on PATH (or CHECKOV=/path/to/checkov), the
# same plan is judged by `checkov -f PLAN --framework terraform_plan` for comparison.
#
#   benches/plan.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}
RUNS=${2:-10}
WORK=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$WORK"

cargo build --release --locked --quiet
python3 benches/synth_plan.py "$N" > "$WORK/plan.json"
resources=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["resource_changes"]))' "$WORK/plan.json")
echo "plan: $N caches, $resources resources, $(($(stat -c %s "$WORK/plan.json") / 1024)) KiB"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# measure LABEL COMMAND...: RUNS runs; each run's wall time, then the median and peak RSS.
measure() {
    local label=$1
    shift
    local results=()
    for run in $(seq 1 "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > /dev/null 2>&1 || true
        # A command that exits non-zero (checkov does when a check fails) gets a line before.
        read -r secs kib < <(tail -n 1 "$WORK/time")
        results+=("$secs $kib")
    done
    printf '%s\n' "${results[@]}" | sort -n | awk -v label="$label" '
        { secs[NR] = $1; if ($2 > peak) peak = $2 }
        END { printf "%s: median %d ms (%d-%d ms over %d runs), peak RSS %d MiB\n", label,
              secs[int((NR + 1) / 2)] * 1000, secs[1] * 1000, secs[NR] * 1000, NR, peak / 1024 }'
}

measure "ecaudit plan, JSON out" target/release/ecaudit plan "$WORK/plan.json" --format json --exit-zero
measure "ecaudit plan, SARIF out" target/release/ecaudit plan "$WORK/plan.json" --format sarif --exit-zero
CHECKOV=${CHECKOV:-$(command -v checkov || true)}
if [ -n "$CHECKOV" ]; then
    echo "checkov: $("$CHECKOV" --version)"
    measure "checkov -f PLAN --framework terraform_plan" "$CHECKOV" -f "$WORK/plan.json" \
        --framework terraform_plan --quiet --compact -o json
else
    echo "checkov: not found (python3 -m venv v && v/bin/pip install checkov; CHECKOV=v/bin/checkov)"
fi
