#!/usr/bin/env bash
# Loading benchmark: trailaudit vs DuckDB over the same gzipped CloudTrail corpus.
#
# Usage (from anywhere):
#
#   bench/load.sh [--regen]
#
# Environment:
#   RECORDS           records asked of the generator (default 1000000; the generator rounds
#                     per account/region/day, so the corpus holds a few more or fewer)
#   BENCH_DIR         work directory (default /tmp/trailaudit-bench): corpus/, the generator's
#                     summary corpus.json, the Python venv venv/ and every run's output in logs/
#   CARGO_TARGET_DIR  cargo target directory (default ./target of the repository)
#   RUNS              measured runs per tool, after one warm-up each (default 3)
#   DUCKDB_QUERIES    DuckDB variants of bench/duckdb_count.py to run, the first being the
#                     reference for the targets (default "objects typed")
#   IDLE_WAIT         seconds to wait, before each run, for the machine to be >= 90% idle
#                     (default 900; 0 disables the wait and the contamination check below)
#
# Steps:
#   1. cargo build --release --bin trailaudit --example gen-corpus
#   2. generates the corpus into $BENCH_DIR/corpus with `gen-corpus bench`, unless it is already
#      there from the same gen-corpus binary (sha256) for the same RECORDS with the same file
#      count (--regen forces regeneration)
#   3. creates $BENCH_DIR/venv and pip-installs duckdb into it if missing
#   4. one warm-up per tool (the page cache is not dropped, which needs root; after the warm-up
#      every run reads the corpus from the page cache), then RUNS rounds, each running every tool
#      once (interleaved, so slow drift of the machine hits all tools alike) under
#      `/usr/bin/time -f '%e %M %U %S'`: wall seconds, peak RSS KiB, user and system CPU
#      seconds. Every run's count is checked against the generator's record count:
#        a. trailaudit inventory CORPUS --format json   (events == records, failed_files empty)
#        b. python bench/duckdb_count.py CORPUS QUERY   (last line == records)
#      The CPU time the rest of the machine used during a run is measured from /proc/stat; a
#      run during which others used more than 5% of the machine (and over 0.5 CPU s) is logged
#      as contaminated and repeated (up to 5 times); only the last attempt of a round counts.
#   5. prints every run and a table: median seconds, records/s, uncompressed MB/s (the
#      generator's uncompressed_bytes), peak RSS MB (max over runs), and the ratio DuckDB time /
#      trailaudit time. MB = 10^6 bytes.
#
# Needs: cargo, python3 (with venv), jq, awk, GNU time at /usr/bin/time.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RECORDS="${RECORDS:-1000000}"
BENCH_DIR="${BENCH_DIR:-/tmp/trailaudit-bench}"
RUNS="${RUNS:-3}"
DUCKDB_QUERIES="${DUCKDB_QUERIES:-objects typed}"
IDLE_WAIT="${IDLE_WAIT:-900}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
CORPUS="$BENCH_DIR/corpus"
SUMMARY="$BENCH_DIR/corpus.json"
VENV="$BENCH_DIR/venv"
LOGS="$BENCH_DIR/logs"
NCPU="$(nproc)"
HZ="$(getconf CLK_TCK)"

REGEN=0
for arg in "$@"; do
    case "$arg" in
        --regen) REGEN=1 ;;
        -h|--help) sed -n '2,40p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

for tool in cargo python3 jq awk /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

say() { printf '== %s\n' "$*" >&2; }

mkdir -p "$BENCH_DIR"
rm -rf "$LOGS"
mkdir -p "$LOGS"

# 1. Build.
say "building in $REPO (CARGO_TARGET_DIR=$TARGET)"
(cd "$REPO" && CARGO_TARGET_DIR="$TARGET" cargo build --release --bin trailaudit --example gen-corpus)
BIN="$TARGET/release/trailaudit"
GEN="$TARGET/release/examples/gen-corpus"

# 2. Corpus (cached).
corpus_ok() {
    [[ -f "$SUMMARY" && -d "$CORPUS/AWSLogs" ]] || return 1
    [[ "$(jq -r '.requested // empty' "$SUMMARY")" == "$RECORDS" ]] || return 1
    [[ "$(jq -r '.generator // empty' "$SUMMARY")" == "$GEN_SHA" ]] || return 1
    local want have
    want="$(jq -r '.files' "$SUMMARY")"
    have="$(find "$CORPUS" -type f -name '*.json.gz' | wc -l)"
    [[ "$want" == "$have" ]]
}
GEN_SHA="$(sha256sum "$GEN" | cut -d' ' -f1)"
if [[ "$REGEN" == 1 ]] || ! corpus_ok; then
    say "generating $RECORDS records into $CORPUS"
    rm -f "$SUMMARY"
    "$GEN" bench "$CORPUS" "$RECORDS" | jq --argjson n "$RECORDS" --arg g "$GEN_SHA" '. + {requested: $n, generator: $g}' \
        > "$SUMMARY.tmp"
    mv "$SUMMARY.tmp" "$SUMMARY"
else
    say "reusing the corpus in $CORPUS (--regen to rebuild it)"
fi
N_FILES="$(jq -r '.files' "$SUMMARY")"
N_RECORDS="$(jq -r '.records' "$SUMMARY")"
RAW_BYTES="$(jq -r '.uncompressed_bytes' "$SUMMARY")"
GZ_BYTES="$(jq -r '.compressed_bytes' "$SUMMARY")"
say "corpus: $N_FILES files, $N_RECORDS records, $RAW_BYTES bytes uncompressed, $GZ_BYTES gzipped"

# 3. DuckDB venv.
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
ensure_duckdb_venv

# 4. Runs.

check_trailaudit() {
    local events failed
    events="$(jq -r '.events' "$1")"
    failed="$(jq -r '.failed_files | length' "$1")"
    if [[ "$events" != "$N_RECORDS" || "$failed" != 0 ]]; then
        echo "trailaudit: events=$events (want $N_RECORDS), failed_files=$failed (want 0)" >&2
        exit 1
    fi
}
check_duckdb() {
    local n
    n="$(tail -n 1 "$1")"
    if [[ "$n" != "$N_RECORDS" ]]; then
        echo "duckdb: counted $n records (want $N_RECORDS)" >&2
        exit 1
    fi
}

# Tools: "name|check|command..." (command words split on spaces: no spaces in paths).
TOOLS=("trailaudit|check_trailaudit|$BIN inventory $CORPUS --format json")
for q in $DUCKDB_QUERIES; do
    TOOLS+=("duckdb-$q|check_duckdb|$VENV/bin/python $REPO/bench/duckdb_count.py $CORPUS $q")
done
for t in "${TOOLS[@]}"; do
    [[ "$t" != *"  "* ]] || { echo "paths must not contain spaces" >&2; exit 2; }
done

# measure TOOL LABEL: runs TOOL once, checks its count, appends
# "name label wall_s peak_kib user_s sys_s others_cpu_s verdict" to $LOGS/runs and sets VERDICT
# to "ok" or "contaminated".
VERDICT=
measure() {
    local name check cmd label="$2" out tim a b wall kib user sys others
    IFS='|' read -r name check cmd <<< "$1"
    out="$LOGS/$name.$label.out"; tim="$LOGS/$name.$label.time"
    wait_idle
    a="$(busy_ticks)"
    # shellcheck disable=SC2086  # $cmd is split into words on purpose
    /usr/bin/time -o "$tim" -f '%e %M %U %S' $cmd > "$out" 2> "$LOGS/$name.$label.err" || {
        echo "$name ($label) failed; see $LOGS/$name.$label.err" >&2; exit 1; }
    b="$(busy_ticks)"
    "$check" "$out"
    read -r wall kib user sys < "$tim"
    others="$(awk -v t=$((b - a)) -v hz="$HZ" -v u="$user" -v s="$sys" \
        'BEGIN { o = t / hz - u - s; printf "%.2f", (o < 0 ? 0 : o) }')"
    VERDICT="$(awk -v o="$others" -v w="$wall" -v n="$NCPU" -v i="$IDLE_WAIT" \
        'BEGIN { lim = 0.05 * w * n; if (lim < 0.5) lim = 0.5; print (i > 0 && o > lim) ? "contaminated" : "ok" }')"
    echo "$name $label $wall $kib $user $sys $others $VERDICT" >> "$LOGS/runs"
    say "$(awk -v n="$name" -v l="$label" -v w="$wall" -v k="$kib" -v u="$user" -v s="$sys" \
        -v o="$others" -v v="$VERDICT" 'BEGIN { printf "%-18s %-8s %7.2f s %7.1f MB  user %6.2f s  sys %5.2f s  others %6.2f s  %s", n, l, w, k * 1024 / 1e6, u, s, o, v }')"
}

say "trailaudit: $BIN inventory $CORPUS --format json"
say "duckdb $DUCKDB_VERSION (default threads = $NCPU): bench/duckdb_count.py, queries: $DUCKDB_QUERIES"
for t in "${TOOLS[@]}"; do measure "$t" warmup; done
for ((r = 1; r <= RUNS; r++)); do
    for t in "${TOOLS[@]}"; do
        for ((try = 0; ; try++)); do
            measure "$t" "run$r.$try"
            [[ "$VERDICT" == ok ]] && break
            ((try < 5)) || { say "run $r still contaminated after 5 retries; keeping it"; break; }
        done
    done
done
# The measured run of each round is its last attempt.
awk '$2 != "warmup" { split($2, p, "."); key = $1 " " p[1]; last[key] = $0 } END { for (k in last) print last[k] }' \
    "$LOGS/runs" | sort > "$LOGS/measured"

# 5. Table.
median() { awk -v n="$1" '$1 == n { print $3 }' "$LOGS/measured" | sort -g |
    awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
max_kib() { awk -v n="$1" '$1 == n { print $4 }' "$LOGS/measured" | sort -g | tail -n 1; }

echo
echo "corpus: $N_FILES files, $N_RECORDS records, $(awk -v b="$RAW_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB uncompressed, $(awk -v b="$GZ_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB gzipped"
echo "$NCPU CPUs; duckdb $DUCKDB_VERSION; $RUNS measured runs per tool after 1 warm-up"
echo
echo "every run (tool, run.attempt, wall s, peak RSS KiB, user s, sys s, CPU s used by others, verdict):"
awk '{ printf "  %-18s %-8s %7s %9s %7s %6s %7s  %s\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$LOGS/runs"
echo
T_TA="$(median trailaudit)"
printf '%-18s %9s %12s %18s %12s %22s\n' tool median_s records/s uncompressed_MB/s peak_RSS_MB time/trailaudit_time
for t in "${TOOLS[@]}"; do
    name="${t%%|*}"
    awk -v tool="$name" -v t="$(median "$name")" -v ta="$T_TA" -v n="$N_RECORDS" -v b="$RAW_BYTES" \
        -v k="$(max_kib "$name")" \
        'BEGIN { printf "%-18s %9.2f %12.0f %18.1f %12.1f %22.2f\n", tool, t, n / t, b / 1e6 / t, k * 1024 / 1e6, t / ta }'
done
