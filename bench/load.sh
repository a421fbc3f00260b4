#!/usr/bin/env bash
# Loading benchmark: trailaudit vs DuckDB over the same gzipped CloudTrail corpus.
#
# Usage (from anywhere):
#
#   bench/load.sh [--regen]
#
# Environment:
#   RECORDS           records in the generated corpus (default 1000000)
#   BENCH_DIR         work directory (default /tmp/trailaudit-bench); holds corpus/, the
#                     generator summary corpus.json, the Python venv venv/ and per-run logs
#   CARGO_TARGET_DIR  cargo target directory (default ./target of the repository)
#   RUNS              measured runs per tool, after one warm-up (default 3)
#
# Steps:
#   1. cargo build --release --bin trailaudit --example gen-corpus
#   2. generates the corpus into $BENCH_DIR/corpus with `gen-corpus bench`, unless it is already
#      there for the same RECORDS with the same file count (--regen forces regeneration)
#   3. creates $BENCH_DIR/venv and pip-installs duckdb into it if missing
#   4. per tool: one warm-up, then RUNS runs under `/usr/bin/time -f '%e %M'` (wall seconds,
#      peak RSS KiB). Page cache is not dropped (needs root); the warm-up makes every run read
#      from the page cache. Each run's count is checked against the generator's record count.
#        a. trailaudit inventory CORPUS --format json   (events == records, failed_files empty)
#        b. DuckDB (bench/duckdb_count.py) counting the records of the same files
#   5. prints a table: median seconds, records/s, uncompressed MB/s, peak RSS MB, and the
#      ratio DuckDB time / trailaudit time.
#
# Needs: cargo, python3 (with venv), jq, /usr/bin/time (GNU time).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RECORDS="${RECORDS:-1000000}"
BENCH_DIR="${BENCH_DIR:-/tmp/trailaudit-bench}"
RUNS="${RUNS:-3}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
CORPUS="$BENCH_DIR/corpus"
SUMMARY="$BENCH_DIR/corpus.json"
VENV="$BENCH_DIR/venv"
LOGS="$BENCH_DIR/logs"

REGEN=0
for arg in "$@"; do
    case "$arg" in
        --regen) REGEN=1 ;;
        -h|--help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

for tool in cargo python3 jq /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

say() { printf '== %s\n' "$*" >&2; }

mkdir -p "$BENCH_DIR" "$LOGS"

# 1. Build.
say "building (CARGO_TARGET_DIR=$TARGET)"
(cd "$REPO" && CARGO_TARGET_DIR="$TARGET" cargo build --release --bin trailaudit --example gen-corpus)
BIN="$TARGET/release/trailaudit"
GEN="$TARGET/release/examples/gen-corpus"

# 2. Corpus (cached).
corpus_ok() {
    [[ -f "$SUMMARY" && -d "$CORPUS/AWSLogs" ]] || return 1
    [[ "$(jq -r '.requested // empty' "$SUMMARY")" == "$RECORDS" ]] || return 1
    local want have
    want="$(jq -r '.files' "$SUMMARY")"
    have="$(find "$CORPUS" -type f -name '*.json.gz' | wc -l)"
    [[ "$want" == "$have" ]]
}
if [[ "$REGEN" == 1 ]] || ! corpus_ok; then
    say "generating $RECORDS records into $CORPUS"
    rm -f "$SUMMARY"
    "$GEN" bench "$CORPUS" "$RECORDS" | jq --argjson n "$RECORDS" '. + {requested: $n}' > "$SUMMARY.tmp"
    mv "$SUMMARY.tmp" "$SUMMARY"
else
    say "reusing corpus in $CORPUS (--regen to rebuild)"
fi
N_FILES="$(jq -r '.files' "$SUMMARY")"
N_RECORDS="$(jq -r '.records' "$SUMMARY")"
RAW_BYTES="$(jq -r '.uncompressed_bytes' "$SUMMARY")"
GZ_BYTES="$(jq -r '.compressed_bytes' "$SUMMARY")"
say "corpus: $N_FILES files, $N_RECORDS records, $RAW_BYTES bytes uncompressed, $GZ_BYTES gzipped"

# 3. DuckDB venv.
if ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
    say "creating $VENV with duckdb"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet duckdb
fi
DUCKDB_VERSION="$("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')"

# 4. Runs.
# run NAME CHECK_FN CMD...: one warm-up then RUNS timed runs; appends "name run secs kib" to
# $LOGS/times. CHECK_FN validates the run's stdout file and exits non-zero on a wrong count.
: > "$LOGS/times"
run() {
    local name="$1" check="$2"; shift 2
    local i out tim
    for ((i = 0; i <= RUNS; i++)); do
        out="$LOGS/$name.$i.out"; tim="$LOGS/$name.$i.time"
        /usr/bin/time -o "$tim" -f '%e %M' "$@" > "$out" 2> "$LOGS/$name.$i.err" || {
            echo "$name run $i failed; see $LOGS/$name.$i.err" >&2; exit 1; }
        "$check" "$out"
        if ((i == 0)); then
            say "$name warm-up: $(cat "$tim") (s, KiB)"
        else
            say "$name run $i: $(cat "$tim") (s, KiB)"
            echo "$name $i $(cat "$tim")" >> "$LOGS/times"
        fi
    done
}

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

say "trailaudit: $BIN inventory $CORPUS --format json"
run trailaudit check_trailaudit "$BIN" inventory "$CORPUS" --format json
say "duckdb $DUCKDB_VERSION: $VENV/bin/python $REPO/bench/duckdb_count.py $CORPUS"
run duckdb check_duckdb "$VENV/bin/python" "$REPO/bench/duckdb_count.py" "$CORPUS"

# 5. Table.
median() { grep "^$1 " "$LOGS/times" | awk '{print $3}' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
max_rss() { grep "^$1 " "$LOGS/times" | awk '{print $4}' | sort -g | tail -n 1; }

T_TA="$(median trailaudit)"; T_DD="$(median duckdb)"
echo
echo "corpus: $N_FILES files, $N_RECORDS records, $(awk -v b="$RAW_BYTES" 'BEGIN{printf "%.1f", b/1e6}') MB uncompressed, $(awk -v b="$GZ_BYTES" 'BEGIN{printf "%.1f", b/1e6}') MB gzipped; $RUNS runs after 1 warm-up; duckdb $DUCKDB_VERSION"
echo "all runs (tool run seconds peak-KiB):"
sed 's/^/  /' "$LOGS/times"
echo
printf '%-12s %10s %14s %18s %16s\n' tool median_s records/s uncompressed_MB/s peak_RSS_MB
for tool in trailaudit duckdb; do
    t="$(median "$tool")"; kib="$(max_rss "$tool")"
    awk -v tool="$tool" -v t="$t" -v n="$N_RECORDS" -v b="$RAW_BYTES" -v k="$kib" \
        'BEGIN { printf "%-12s %10.2f %14.0f %18.1f %16.1f\n", tool, t, n/t, b/1e6/t, k*1024/1e6 }'
done
awk -v a="$T_DD" -v b="$T_TA" 'BEGIN { printf "\nratio duckdb/trailaudit (median time): %.2fx\n", a/b }'
