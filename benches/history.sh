#!/usr/bin/env bash
# History benchmark (not a timed test): records NIGHTS nights (default 365) of a synthetic
# fleet of N deployments (default 2000) into a history directory with the real nightly,
# `ecaudit scan --inventory NIGHT --history DIR`, one night after the other (setup, not
# measured: its time and the history's size are printed), then measures with a release build,
# RUNS times each (default 3; median wall time and peak RSS from /usr/bin/time):
#
# - `ecaudit report --history DIR` as HTML, as Markdown, and with `--since 90d`;
# - one more nightly `scan --history DIR` on the full history (its run is removed again after
#   each measurement), next to the same scan without `--history`.
#
# The nights come from `benches/synth_inventory.rs N NIGHT`: night k is collected at
# 2025-11-25T06:00Z plus k days, and flaps, upgrades, deletes and adds deployments from night to
# night (every 100th night from night 42 has a coverage gap). ecaudit names each recorded run
# by the wall clock and refuses runs evaluated after their name, so every night must lie in
# the past: NIGHTS is at most the days since 2025-11-25, less one.
#
#   benches/history.sh [NIGHTS] [N]
#
# BENCH_DIR=DIR keeps the history (and the reports) in DIR and reuses a history it generated
# there before for the same NIGHTS and N; without it a temporary directory is used and removed.
# ECAUDIT_BENCH_BINARY=PATH measures another build. Needs /usr/bin/time (Debian's `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
NIGHTS=${1:-365}
N=${2:-2000}
RUNS=${RUNS:-3}
WORK=${BENCH_DIR:-$(mktemp -d)}
HIST=$WORK/history
SLA=critical=7d,high=30d,medium=90d
KEEP=$((NIGHTS + 10 > 400 ? NIGHTS + 10 : 400))
mkdir -p "$WORK"

TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --locked --quiet
cargo build --release --locked --quiet --example synth_inventory
ECAUDIT=${ECAUDIT_BENCH_BINARY:-$TARGET/release/ecaudit}
SYNTH=$TARGET/release/examples/synth_inventory

# The time of night K, as the generator dates it.
night_at() {
    date -u -d "2025-11-25 06:00:00 UTC + $1 days" +%Y-%m-%dT%H:%M:%SZ
}
if [ "$(date -u -d "$(night_at "$NIGHTS")" +%s)" -ge "$(date -u +%s)" ]; then
    echo "history.sh: night $NIGHTS would be dated $(night_at "$NIGHTS"), not in the past; use fewer nights" >&2
    exit 2
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(($(grep MemTotal /proc/meminfo | awk '{print $2}') / 1024 / 1024)) GiB; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# nightly K FILE [ARGS...]: the nightly scan of night K's inventory FILE.
nightly() {
    local k=$1 file=$2
    shift 2
    "$ECAUDIT" scan --inventory "$file" --now "$(night_at "$k")" --exit-zero --allow-partial "$@"
}

if [ "$(cat "$WORK/history.done" 2> /dev/null)" = "$NIGHTS $N" ]; then
    echo "history: reusing $HIST ($NIGHTS nights of $N deployments)"
else
    rm -rf "$HIST" "$WORK/history.done"
    mkdir -p "$HIST"
    : > "$WORK/generate.log"
    start=$(date +%s.%N)
    for k in $(seq 0 $((NIGHTS - 1))); do
        "$SYNTH" "$N" "$k" > "$WORK/night.json"
        nightly "$k" "$WORK/night.json" --history "$HIST" --keep "$KEEP" --sla "$SLA" \
            --format json > /dev/null 2>> "$WORK/generate.log"
        if [ "$k" = 0 ]; then
            # One night's size tells whether all of them fit.
            night=$(du -sb "$HIST" | cut -f1)
            free=$(($(df -B1 --output=avail "$HIST" | tail -1)))
            echo "history: one night is $((night / 1024 / 1024)) MiB; $NIGHTS nights need $((night * NIGHTS / 1024 / 1024 / 1024)) GiB, $((free / 1024 / 1024 / 1024)) GiB free"
            if [ $((night * NIGHTS)) -gt $((free - 2 * 1024 * 1024 * 1024)) ]; then
                echo "history.sh: $NIGHTS nights do not fit; use fewer nights or a smaller fleet" >&2
                exit 2
            fi
        fi
        if [ $(((k + 1) % 50)) = 0 ]; then
            echo "  $((k + 1)) nights recorded, $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }') s"
        fi
    done
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    echo "$NIGHTS $N" > "$WORK/history.done"
    echo "history: generated in ${secs}s ($(awk -v s="$secs" -v n="$NIGHTS" 'BEGIN { printf "%.2f", s / n }')s a night: generating the inventory, the nightly scan with ages and drift, recording)"
    echo "  warnings while recording: $(grep -c 'warning' "$WORK/generate.log" || true)"
fi
runs=$(find "$HIST" -name 'ecaudit-*.scan.json' | wc -l)
bytes=$(du -sb "$HIST" | cut -f1)
# The newest run is the last written (names that share a second sort `-2` first).
newest=$(find "$HIST" -name 'ecaudit-*.scan.json' -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
echo "history: $runs runs, $((bytes / 1024 / 1024)) MiB on disk ($((bytes / runs / 1024)) KiB a night); the newest: result $(($(stat -c %s "$newest") / 1024)) KiB, inventory $(($(stat -c %s "${newest%.scan.json}.inventory.json") / 1024)) KiB"

# measure LABEL COMMAND...: RUNS runs of COMMAND after one unmeasured run (which warms the page
# cache with what it reads); prints each run and the median. AFTER, if set, runs after each.
AFTER=
measure() {
    local label=$1
    shift
    "$@" > /dev/null 2> "$WORK/warm.log" || { cat "$WORK/warm.log" >&2; exit 1; }
    [ -z "$AFTER" ] || $AFTER
    local results=()
    for run in $(seq 1 "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > /dev/null 2> /dev/null
        [ -z "$AFTER" ] || $AFTER
        read -r secs kib < "$WORK/time"
        echo "  run $run: ${secs}s, peak RSS $((kib / 1024)) MiB"
        results+=("$secs $kib")
    done
    printf '%s\n' "${results[@]}" | sort -n | awk -v label="$label" '
        { secs[NR] = $1; if ($2 > peak) peak = $2 }
        END {
            printf "%s: median %.2fs (%.2f-%.2f), peak RSS %d MiB\n", label, secs[int((NR + 1) / 2)], secs[1], secs[NR], peak / 1024
        }'
}

echo "report of the whole history ($runs nights read up to their findings, the newest whole):"
measure "report html" "$ECAUDIT" report --history "$HIST" -o "$WORK/report.html"
measure "report markdown" "$ECAUDIT" report --history "$HIST" --format markdown -o "$WORK/report.md"
echo "  reports: HTML $(($(stat -c %s "$WORK/report.html") / 1024)) KiB, Markdown $(($(stat -c %s "$WORK/report.md") / 1024)) KiB"
echo "report of the last 90 days:"
measure "report html --since 90d" "$ECAUDIT" report --history "$HIST" --since 90d -o "$WORK/report-90d.html"

# The next night, scanned with and without the history; each run it records is removed again.
"$SYNTH" "$N" "$NIGHTS" > "$WORK/next.json"
find "$HIST" -maxdepth 1 -type f | sort > "$WORK/before"
forget() {
    find "$HIST" -maxdepth 1 -type f | sort | comm -13 "$WORK/before" - | xargs -r rm --
}
echo "one more night (night $NIGHTS), the nightly scan on the full history (ages, drift, recording):"
next=("$ECAUDIT" scan --inventory "$WORK/next.json" --now "$(night_at "$NIGHTS")" --exit-zero --allow-partial
    --format json)
AFTER=forget
measure "scan --history" "${next[@]}" --output "$WORK/nightly.json" --history "$HIST" --keep "$KEEP" --sla "$SLA"
AFTER=
echo "the same night without --history:"
measure "scan" "${next[@]}" --output "$WORK/plain.json"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"
