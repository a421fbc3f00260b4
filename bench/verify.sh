#!/usr/bin/env bash
# `trailaudit verify` against the time to read the same bytes.
#
# Usage (from anywhere):
#
#   CARGO_TARGET_DIR=/work/bench-target-verify bench/verify.sh [--regen]
#
# Environment:
#   HOURS, LOGS_PER_HOUR, RECORDS_PER_LOG   the chain (default 720 hours = 30 days, 4 log
#                     files an hour, 500 records each: 2,880 log files, 1.44M records)
#   BENCH_DIR         work directory (default /tmp/trailaudit-bench-verify): chain/ and logs/
#   CARGO_TARGET_DIR  cargo target directory (default ./target of the repository)
#   RUNS              measured rounds after one warm-up (default 3)
#
# Steps:
#   1. cargo build --release --bin trailaudit --example gen-digest-chain
#   2. generates a signed chain into $BENCH_DIR/chain (kept between runs unless --regen or the
#      parameters change): log files, digests, <digest>.metadata.json, public-keys.json
#   3. one warm-up of everything (the page cache is not dropped: every run reads from it), then
#      RUNS interleaved rounds, each under `/usr/bin/time -f '%e %U %S %M'` (wall s, user s,
#      system s, peak RSS KiB):
#        cat      every file of the chain, as stored, to /dev/null         (reading the bytes)
#        zcat     every log file, one process, to /dev/null                 (one-core gunzip)
#        zcat -P  every log file, NCPU parallel zcat processes              (all-core gunzip)
#        verify   trailaudit verify CHAIN --public-keys CHAIN/public-keys.json --format json
#                 (gunzip + SHA-256 of every log file, every digest parsed, hashed, linked
#                 and its signature checked); checked: exit 0, every log file valid
#        verify-1t  the same with RAYON_NUM_THREADS=1 (one thread)
#   4. prints each run and the medians, with uncompressed MB/s (MB = 10^6 bytes).
#
# Needs: cargo, jq, awk, gzip, GNU time at /usr/bin/time.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOURS="${HOURS:-720}"
LOGS_PER_HOUR="${LOGS_PER_HOUR:-4}"
RECORDS_PER_LOG="${RECORDS_PER_LOG:-500}"
BENCH_DIR="${BENCH_DIR:-/tmp/trailaudit-bench-verify}"
RUNS="${RUNS:-3}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
CHAIN="$BENCH_DIR/chain"
LOGS="$BENCH_DIR/logs"
NCPU="$(nproc)"

REGEN=0
for arg in "$@"; do
    case "$arg" in
        --regen) REGEN=1 ;;
        -h|--help) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done
for tool in cargo jq awk zcat /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
say() { printf '== %s\n' "$*" >&2; }

say "building (CARGO_TARGET_DIR=$TARGET)"
(cd "$REPO" && CARGO_TARGET_DIR="$TARGET" cargo build --release --bin trailaudit --example gen-digest-chain)
BIN="$TARGET/release/trailaudit"
GEN="$TARGET/release/examples/gen-digest-chain"

PARAMS="$HOURS $LOGS_PER_HOUR $RECORDS_PER_LOG"
if [ "$REGEN" = 1 ] || [ "$(cat "$BENCH_DIR/params" 2>/dev/null)" != "$PARAMS" ]; then
    say "generating $CHAIN ($PARAMS)"
    rm -rf "$CHAIN" "$BENCH_DIR/params"
    mkdir -p "$CHAIN"
    "$GEN" "$CHAIN" $PARAMS > "$BENCH_DIR/chain.json"
    echo "$PARAMS" > "$BENCH_DIR/params"
fi
LOG_FILES=$(jq .log_files "$BENCH_DIR/chain.json")
BYTES=$(jq .log_bytes_uncompressed "$BENCH_DIR/chain.json")
STORED=$(du -sb "$CHAIN" | cut -f1)
say "chain: $(jq -c . "$BENCH_DIR/chain.json"), $STORED bytes stored"

rm -rf "$LOGS"; mkdir -p "$LOGS"
run() { # name command...
    local name=$1; shift
    /usr/bin/time -f '%e %U %S %M' -o "$LOGS/$name.time" "$@" > "$LOGS/$name.out"
    echo "$name $(cat "$LOGS/$name.time")" >> "$LOGS/runs"
}
tools() {
    run cat sh -c "find '$CHAIN' -type f -print0 | xargs -0 cat > /dev/null"
    run zcat sh -c "find '$CHAIN' -path '*/CloudTrail/*' -name '*.json.gz' -print0 | xargs -0 zcat > /dev/null"
    run zcat-P sh -c "find '$CHAIN' -path '*/CloudTrail/*' -name '*.json.gz' -print0 | xargs -0 -P $NCPU -n 64 zcat > /dev/null"
    RAYON_NUM_THREADS=1 run verify-1t "$BIN" verify "$CHAIN" --public-keys "$CHAIN/public-keys.json" --format json
    run verify "$BIN" verify "$CHAIN" --public-keys "$CHAIN/public-keys.json" --format json
    local valid
    valid=$(jq '[.trails[].log_files.valid] | add' "$LOGS/verify.out")
    [ "$valid" = "$LOG_FILES" ] && [ "$(jq .failures "$LOGS/verify.out")" = 0 ] || {
        echo "verify did not find every log file valid ($valid of $LOG_FILES)" >&2; exit 1; }
}

say "warm-up"
tools
: > "$LOGS/runs"
for i in $(seq "$RUNS"); do say "round $i of $RUNS"; tools; done

echo "tool     wall_s user_s sys_s maxrss_kib"
cat "$LOGS/runs"
echo
echo "median over $RUNS rounds; $LOG_FILES log files, $BYTES bytes uncompressed, $STORED stored; $NCPU CPUs"
printf '%-8s %8s %10s\n' tool wall_s "MB/s(unc)"
for t in cat zcat zcat-P verify-1t verify; do
    awk -v t="$t" -v b="$BYTES" '$1 == t { print $2 }' "$LOGS/runs" | sort -n |
        awk -v t="$t" -v b="$BYTES" '{ a[NR] = $1 } END { m = a[int((NR + 1) / 2)]; printf "%-8s %8.2f %10.0f\n", t, m, b / 1e6 / m }'
done
