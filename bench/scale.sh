#!/usr/bin/env bash
# Scaling benchmark: inventory, query and the full audit at 1M, 5M and 10M records, against
# DuckDB counting the same records.
#
# Usage (from anywhere):
#
#   bench/scale.sh [--regen]
#   SIZES="20000 50000" RUNS=1 IDLE_WAIT=0 BENCH_DIR=/tmp/scale-smoke bench/scale.sh   # smoke test
#
# The targets it reports on (issue text): the full audit of 1M records writing every report
# format at least 3x faster than DuckDB counting the same records (`read_json` +
# `unnest(Records)`), with peak RSS at most 512 MB; the same audit of 5M and 10M records with
# peak RSS at most 512 MB at every size and not more than 1.25x the 1M peak, wall time linear
# (10M within 11x of 1M).
#
# Environment:
#   SIZES             records asked of the generator, one corpus each (default
#                     "1000000 5000000 10000000"; the generator rounds per account/region/day, so
#                     a corpus holds a few more or fewer: the tables use the records it holds)
#   BASE_SIZE         the size the ratios are taken against (default 1000000 if in SIZES, else
#                     the smallest size)
#   BENCH_DIR         work directory (default /tmp/trailaudit-scale): corpus-N/ and its summary
#                     corpus-N.json per size, the Python venv venv/, the outputs of the last run
#                     in out/N/ and every run's time, stdout and stderr in logs/
#   CARGO_TARGET_DIR  cargo target directory (default ./target of the repository)
#   SKIP_BUILD        1: do not run cargo, use the binaries already in CARGO_TARGET_DIR
#   RUNS              measured rounds per size (default 3); the table shows medians (seconds)
#                     and the maximum over the runs (peak RSS)
#   IDLE_WAIT         seconds to wait, before each run, for the machine to be >= 90% idle
#                     (default 900; 0 disables the wait and the contamination check below)
#   RETRIES           how often a contaminated run is repeated (default 3)
#   DUCKDB_MAX_RECORDS  skip DuckDB for sizes above this many requested records (default: run
#                     it at every size)
#   DUCKDB_TIMEOUT    seconds after which a DuckDB run is killed (default 3600; 0: never). A
#                     DuckDB run that fails or times out is reported as such and not repeated
#                     at that size; it does not stop the script. A wrong count does.
#   COUNT_PATTERN     the filter pattern of `query --count` (default: CIS AWS 4.4, below)
#   ALLOW_DUPLICATE_IDS  1: go on when a corpus holds duplicate eventIDs (default: stop)
#   COMPARE_SIZES     sizes at which the streamed outputs are compared with the whole-frame
#                     path's (step 6; default: BASE_SIZE; "none": no comparison). The whole
#                     frame holds every record's columns: about 0.5 GB per million records
#   REUSE_CORPORA     1: keep a corpus written by another build of gen-corpus (same size and
#                     file count); only when the generator's code did not change, since the
#                     check by its sha256 is then skipped
#
# Steps:
#   1. cargo build --release --bin trailaudit --example gen-corpus (unless SKIP_BUILD=1)
#   2. per size N, generates $BENCH_DIR/corpus-N with `gen-corpus bench DIR N`, unless it is
#      already there from the same gen-corpus binary (sha256) for the same N with the same file
#      count (--regen forces regeneration); a new corpus's eventIDs are counted (zcat | tr | grep
#      | sort | uniq, ~5 s per million records; kept in corpus-N.json): every record must have its own eventID. Corpora of
#      different sizes are not disjoint: each account-region-day draws its records from the
#      same seeded stream at every size, so a larger corpus repeats a smaller one's records
#      (and eventIDs). Each corpus is measured on its own, so that does not matter here.
#   3. creates $BENCH_DIR/venv and pip-installs duckdb into it if missing
#   4. per size: reads the corpus once (cat > /dev/null) so that every run reads it from the
#      page cache (dropping the cache needs root), then RUNS rounds, each running every command
#      once (interleaved, so slow drift of the machine hits all alike) under
#      `/usr/bin/time -f '%e %M %U %S'`: wall seconds, peak RSS KiB, user and system CPU s.
#        inventory  trailaudit --quiet inventory CORPUS --format json -o FILE
#                   checked: events == records, no failed file
#        count      trailaudit --quiet query COUNT_PATTERN CORPUS --count
#                   COUNT_PATTERN (environment) defaults to CIS AWS 4.4, IAM policy changes:
#                   '{($.eventName=DeleteGroupPolicy)||...||($.eventName=DetachGroupPolicy)}',
#                   the 16 clauses of bench/query.sh
#                   checked: exit 0; the count is recorded and must be the same in every run
#        ndjson     trailaudit --quiet query '{ $.eventSource = "iam.amazonaws.com" }' CORPUS
#                   --format ndjson -o FILE
#                   checked: exit 0; matched lines recorded, the same in every run; the first
#                   line is an IAM record
#        audit      trailaudit --quiet audit --logs CORPUS --format json,html,md,sarif,junit
#                   -o DIR --allow-partial
#                   checked: exit 0 or 1 (1 = violations; 2 is an error), the five reports
#                   written, report.json's inputs.logs.events == records, nothing rejected or
#                   failed
#        duckdb     python bench/duckdb_count.py CORPUS unnest (read_json + unnest(Records),
#                   count(*); DuckDB defaults, threads = cores; spills under BENCH_DIR)
#                   checked: last line == records
#      The CPU time the rest of the machine used during a run is measured from /proc/stat; a
#      run during which others used more than 5% of the machine (and over 0.5 CPU s) is logged
#      as contaminated and repeated (up to RETRIES times); only the last attempt counts.
#   5. prints every run, then a markdown table (records, command, median s, records/s, peak RSS
#      MB, result) and the ratios of the targets: DuckDB time / audit time at BASE_SIZE; audit
#      peak RSS at every size and / the BASE_SIZE peak; audit time / BASE_SIZE audit time,
#      against 1.1x the ratio of the sizes (10M / 1M: 11). MB = 10^6 bytes.
#   6. per size of COMPARE_SIZES: inventory, query --count, query (ndjson) and audit once more
#      on the whole-frame path: the whole history as one chunk and every event key in memory
#      (--chunk-rows 100000000 --keys-in-memory 18446744073709551615), not measured against the
#      targets. Their outputs must equal those of the last measured (streamed) run: inventory's
#      JSON, the count, the ndjson file byte for byte, audit's report.json without generated_at
#      and manifest.command_line. A difference stops the script (exit 1) with the two files.
#
# Needs: cargo, python3 (with venv), jq, awk, GNU time at /usr/bin/time, timeout, zcat, sort.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES="${SIZES:-1000000 5000000 10000000}"
BASE_SIZE="${BASE_SIZE:-}"
BENCH_DIR="${BENCH_DIR:-/tmp/trailaudit-scale}"
RUNS="${RUNS:-3}"
IDLE_WAIT="${IDLE_WAIT:-900}"
RETRIES="${RETRIES:-3}"
DUCKDB_MAX_RECORDS="${DUCKDB_MAX_RECORDS:-}"
DUCKDB_TIMEOUT="${DUCKDB_TIMEOUT:-3600}"
ALLOW_DUPLICATE_IDS="${ALLOW_DUPLICATE_IDS:-0}"
SKIP_BUILD="${SKIP_BUILD:-0}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
VENV="$BENCH_DIR/venv"
LOGS="$BENCH_DIR/logs"
NCPU="$(nproc)"
HZ="$(getconf CLK_TCK)"

# CIS AWS 4.4 (IAM policy changes), as in bench/query.sh: 624 matches at 1M records. The
# generator's background IAM policy changes are all CreatePolicyVersion, so a pattern of only
# PutUserPolicy and AttachRolePolicy would match the one planted record at every size.
CIS_44='{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}'
COUNT_PATTERN="${COUNT_PATTERN:-$CIS_44}"
NDJSON_PATTERN='{ $.eventSource = "iam.amazonaws.com" }'
AUDIT_FORMATS=json,html,md,sarif,junit
AUDIT_FILES="report.json report.html report.md report.sarif report.junit.xml"
RSS_LIMIT_MB=512

REGEN=0
for arg in "$@"; do
    case "$arg" in
        --regen) REGEN=1 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

die() { echo "scale.sh: $*" >&2; exit 2; }
say() { printf '== %s\n' "$*" >&2; }
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

[[ -n "${SIZES// /}" ]] || die "SIZES is empty"
for n in $SIZES; do is_uint "$n" && ((n > 0)) || die "SIZES: '$n' is not a positive integer"; done
# Sizes sorted ascending, without duplicates.
SIZES="$(printf '%s\n' $SIZES | sort -n -u | paste -sd' ' -)"
is_uint "$RUNS" && ((RUNS > 0)) || die "RUNS must be a positive integer, not '$RUNS'"
is_uint "$IDLE_WAIT" || die "IDLE_WAIT must be a number of seconds, not '$IDLE_WAIT'"
is_uint "$RETRIES" || die "RETRIES must be a non-negative integer, not '$RETRIES'"
is_uint "$DUCKDB_TIMEOUT" || die "DUCKDB_TIMEOUT must be a number of seconds, not '$DUCKDB_TIMEOUT'"
[[ -z "$DUCKDB_MAX_RECORDS" ]] || is_uint "$DUCKDB_MAX_RECORDS" || die "DUCKDB_MAX_RECORDS must be a number"
[[ "$BENCH_DIR" != *"'"* ]] || die "BENCH_DIR must not contain a single quote (it goes into DuckDB SQL)"
if [[ -z "$BASE_SIZE" ]]; then
    BASE_SIZE="${SIZES%% *}"
    for n in $SIZES; do [[ "$n" != 1000000 ]] || BASE_SIZE=1000000; done
fi
[[ " $SIZES " == *" $BASE_SIZE "* ]] || die "BASE_SIZE $BASE_SIZE is not one of SIZES ($SIZES)"
COMPARE_SIZES="${COMPARE_SIZES:-$BASE_SIZE}"
[[ "$COMPARE_SIZES" != none ]] || COMPARE_SIZES=
for n in $COMPARE_SIZES; do
    [[ " $SIZES " == *" $n "* ]] || die "COMPARE_SIZES: $n is not one of SIZES ($SIZES)"
done

for tool in python3 jq awk /usr/bin/time timeout zcat sort sha256sum; do
    command -v "$tool" >/dev/null || die "missing: $tool"
done
[[ "$SKIP_BUILD" == 1 ]] || command -v cargo >/dev/null || die "missing: cargo (or set SKIP_BUILD=1)"

mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
VENV="$BENCH_DIR/venv"
LOGS="$BENCH_DIR/logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"

# 1. Build.
if [[ "$SKIP_BUILD" == 1 ]]; then
    say "SKIP_BUILD=1: using the binaries in $TARGET/release"
else
    say "building in $REPO (CARGO_TARGET_DIR=$TARGET)"
    (cd "$REPO" && CARGO_TARGET_DIR="$TARGET" cargo build --release --bin trailaudit --example gen-corpus)
fi
BIN="$TARGET/release/trailaudit"
GEN="$TARGET/release/examples/gen-corpus"
[[ -x "$BIN" && -x "$GEN" ]] || die "no $BIN or $GEN (build them, or unset SKIP_BUILD)"
GEN_SHA="$(sha256sum "$GEN" | cut -d' ' -f1)"

# 2. Corpora (cached).
corpus_dir() { echo "$BENCH_DIR/corpus-$1"; }
summary_of() { echo "$BENCH_DIR/corpus-$1.json"; }
corpus_ok() {  # N
    local corpus summary want have
    corpus="$(corpus_dir "$1")"; summary="$(summary_of "$1")"
    [[ -f "$summary" && -d "$corpus/AWSLogs" ]] || return 1
    [[ "$(jq -r '.requested // empty' "$summary")" == "$1" ]] || return 1
    [[ "${REUSE_CORPORA:-0}" == 1 || "$(jq -r '.generator // empty' "$summary")" == "$GEN_SHA" ]] || return 1
    [[ -n "$(jq -r '.distinct_event_ids // empty' "$summary")" ]] || return 1
    want="$(jq -r '.files' "$summary")"
    have="$(find "$corpus" -type f -name '*.json.gz' | wc -l)"
    [[ "$want" == "$have" ]]
}
# Prints "eventIDs distinct" of a corpus: every "eventID" key in every file (a record's own;
# sharedEventID does not match), and how many different values they take. Split at commas
# first: `grep -o` over the one-line files (~250 KB a line) is 50-80x slower, even with
# LC_ALL=C (4 min for 1M records instead of 4.4 s).
count_event_ids() {
    find "$1" -type f -name '*.json.gz' -print0 | xargs -0 zcat | tr ',' '\n' |
        LC_ALL=C grep '^"eventID":' | LC_ALL=C sort -S 1G -T "$BENCH_DIR" | uniq -c |
        awk '{ t += $1; d++ } END { print t + 0, d + 0 }'
}
for n in $SIZES; do
    corpus="$(corpus_dir "$n")"; summary="$(summary_of "$n")"
    if [[ "$REGEN" == 1 ]] || ! corpus_ok "$n"; then
        say "generating $n records into $corpus"
        rm -f "$summary"
        "$GEN" bench "$corpus" "$n" > "$summary.gen" || die "gen-corpus failed for $n records"
        say "counting the eventIDs of $corpus"
        read -r ids distinct < <(count_event_ids "$corpus")
        jq --argjson n "$n" --arg g "$GEN_SHA" --argjson ids "$ids" --argjson d "$distinct" \
            --argjson kib "$(du -sk "$corpus" | cut -f1)" \
            '. + {requested: $n, generator: $g, event_ids: $ids, distinct_event_ids: $d, disk_kib: $kib}' \
            "$summary.gen" > "$summary.tmp"
        mv "$summary.tmp" "$summary"
        rm -f "$summary.gen"
    else
        say "reusing the corpus in $corpus (--regen to rebuild it)"
    fi
    read -r files records ids distinct < <(jq -r '"\(.files) \(.records) \(.event_ids) \(.distinct_event_ids)"' "$summary")
    if [[ "$ids" != "$records" || "$distinct" != "$records" ]]; then
        msg="corpus-$n: $records records, $ids eventIDs, $distinct distinct"
        [[ "$ALLOW_DUPLICATE_IDS" == 1 ]] || die "$msg (ALLOW_DUPLICATE_IDS=1 to go on)"
        say "WARNING: $msg"
    fi
done

# 3. DuckDB venv.
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
ensure_duckdb_venv

# 4. Runs.

# set_cmd TOOL: the command line of TOOL for the current size into CMD; the directory it runs
# in into CWD.
CMD=(); CWD=
set_cmd() {
    CWD="$BENCH_DIR"
    case "$1" in
        inventory) CMD=("$BIN" --quiet inventory "$CORPUS" --format json -o "$OUT/inventory.json") ;;
        count) CMD=("$BIN" --quiet query "$COUNT_PATTERN" "$CORPUS" --count) ;;
        ndjson) CMD=("$BIN" --quiet query "$NDJSON_PATTERN" "$CORPUS" --format ndjson -o "$OUT/iam.ndjson") ;;
        audit) CMD=("$BIN" --quiet audit --logs "$CORPUS" --format "$AUDIT_FORMATS" -o "$OUT/audit" --allow-partial) ;;
        duckdb)
            # DuckDB spills to .tmp in its working directory.
            CWD="$BENCH_DIR/duckdb-work"
            CMD=("$VENV/bin/python" "$REPO/bench/duckdb_count.py" "$CORPUS" unnest)
            ((DUCKDB_TIMEOUT == 0)) || CMD=(timeout --kill-after=30 "$DUCKDB_TIMEOUT" "${CMD[@]}")
            ;;
        *) die "unknown tool $1" ;;
    esac
}

# check_TOOL STDOUT EXIT: checks a run (exits on a wrong result); prints its result column.
fail() {
    echo "scale.sh: $TOOL at $N_REQ ($LABEL): $*; stderr in $LOGS/$N_REQ.$TOOL.$LABEL.err; the command (without --quiet, trailaudit says more):" >&2
    echo "  (cd $(printf '%q' "$CWD") && $(printf '%q ' "${CMD[@]}"))" >&2
    exit 1
}
expect_exit0() { [[ "$1" == 0 ]] || fail "exit $1"; }
same_as_before() {  # KEY VALUE: VALUE must be what earlier runs of this size gave for KEY
    local f="$LOGS/$N_REQ.$1.result"
    if [[ -f "$f" ]]; then
        [[ "$(cat "$f")" == "$2" ]] || fail "$1 is $2, an earlier run gave $(cat "$f")"
    else
        echo "$2" > "$f"
    fi
}
check_inventory() {
    expect_exit0 "$2"
    local events failed
    [[ -f "$OUT/inventory.json" ]] || fail "no $OUT/inventory.json"
    events="$(jq -r '.events' "$OUT/inventory.json")"
    failed="$(jq -r '.failed_files | length' "$OUT/inventory.json")"
    [[ "$events" == "$N_RECORDS" && "$failed" == 0 ]] ||
        fail "events=$events (want $N_RECORDS), failed_files=$failed (want 0)"
    echo "events=$events"
}
check_count() {
    expect_exit0 "$2"
    local n
    n="$(cat "$1")"
    is_uint "$n" || fail "printed '$n', not a count"
    same_as_before count "$n"
    echo "count=$n"
}
check_ndjson() {
    expect_exit0 "$2"
    local n
    [[ -f "$OUT/iam.ndjson" ]] || fail "no $OUT/iam.ndjson"
    n="$(wc -l < "$OUT/iam.ndjson")"
    if ((n > 0)); then
        head -n 1 "$OUT/iam.ndjson" | jq -e '.eventSource == "iam.amazonaws.com"' >/dev/null ||
            fail "the first line of $OUT/iam.ndjson is not an IAM record"
    fi
    same_as_before ndjson "$n"
    echo "lines=$n"
}
check_audit() {
    [[ "$2" == 0 || "$2" == 1 ]] || fail "exit $2 (0 or 1 expected)"
    local f r="$OUT/audit/report.json" events rejected failed
    for f in $AUDIT_FILES; do
        [[ -s "$OUT/audit/$f" ]] || fail "no $OUT/audit/$f"
    done
    read -r events rejected failed < <(jq -r \
        '.inputs.logs | "\(.events) \(.rejected_records) \(.failed_files | length)"' "$r")
    [[ "$events" == "$N_RECORDS" && "$rejected" == 0 && "$failed" == 0 ]] ||
        fail "report.json: events=$events (want $N_RECORDS), rejected=$rejected, failed_files=$failed (want 0)"
    echo "exit=$2"
}
check_duckdb() {
    local n
    if [[ "$2" != 0 ]]; then
        echo "FAILED(exit=$2)"
        return 0
    fi
    n="$(tail -n 1 "$1")"
    [[ "$n" == "$N_RECORDS" ]] || fail "counted '$n' records (want $N_RECORDS)"
    echo "count=$n"
}

# measure: runs $TOOL once for the current size, checks it, appends "size records tool label
# wall_s peak_kib user_s sys_s others_cpu_s verdict result" to $LOGS/runs; sets VERDICT to ok,
# contaminated or failed (DuckDB only).
VERDICT=
measure() {
    local base="$LOGS/$N_REQ.$TOOL.$LABEL" rc=0 a b wall kib user sys others result
    set_cmd "$TOOL"
    case "$TOOL" in
        inventory) rm -f "$OUT/inventory.json" ;;
        ndjson) rm -f "$OUT/iam.ndjson" ;;
        audit) rm -rf "$OUT/audit" ;;
        duckdb) rm -rf "$CWD"; mkdir -p "$CWD" ;;
    esac
    wait_idle
    a="$(busy_ticks)"
    (cd "$CWD" && exec /usr/bin/time -o "$base.time" -f '%e %M %U %S' "${CMD[@]}") \
        > "$base.out" 2> "$base.err" || rc=$?
    b="$(busy_ticks)"
    [[ "$TOOL" != duckdb ]] || rm -rf "$CWD"
    # GNU time writes a "Command exited with non-zero status" line first when there is one.
    read -r wall kib user sys < <(tail -n 1 "$base.time" 2>/dev/null || true)
    is_uint "${kib:-x}" || fail "no measurement (exit $rc)"
    result="$("check_$TOOL" "$base.out" "$rc")" || exit 1
    others="$(awk -v t=$((b - a)) -v hz="$HZ" -v u="$user" -v s="$sys" \
        'BEGIN { o = t / hz - u - s; printf "%.2f", (o < 0 ? 0 : o) }')"
    VERDICT="$(awk -v o="$others" -v w="$wall" -v n="$NCPU" -v i="$IDLE_WAIT" \
        'BEGIN { lim = 0.05 * w * n; if (lim < 0.5) lim = 0.5; print (i > 0 && o > lim) ? "contaminated" : "ok" }')"
    [[ "$result" != FAILED* ]] || VERDICT=failed
    echo "$N_REQ $N_RECORDS $TOOL $LABEL $wall $kib $user $sys $others $VERDICT $result" >> "$LOGS/runs"
    say "$(awk -v sz="$N_REQ" -v n="$TOOL" -v l="$LABEL" -v w="$wall" -v k="$kib" -v u="$user" \
        -v s="$sys" -v o="$others" -v v="$VERDICT" -v r="$result" \
        'BEGIN { printf "%9s %-9s %-7s %8.2f s %7.1f MB  user %7.2f s  sys %6.2f s  others %6.2f s  %-12s %s", sz, n, l, w, k * 1024 / 1e6, u, s, o, v, r }')"
}

say "trailaudit: $BIN ($("$BIN" --version 2>/dev/null || echo '?')); duckdb $DUCKDB_VERSION (threads = $NCPU)"
for N_REQ in $SIZES; do
    CORPUS="$(corpus_dir "$N_REQ")"
    N_RECORDS="$(jq -r '.records' "$(summary_of "$N_REQ")")"
    OUT="$BENCH_DIR/out/$N_REQ"
    rm -rf "$OUT"
    mkdir -p "$OUT"
    TOOLS="inventory count ndjson audit"
    if [[ -z "$DUCKDB_MAX_RECORDS" ]] || ((N_REQ <= DUCKDB_MAX_RECORDS)); then
        TOOLS="$TOOLS duckdb"
    else
        say "DuckDB skipped at $N_REQ (DUCKDB_MAX_RECORDS=$DUCKDB_MAX_RECORDS)"
    fi
    say "size $N_REQ: $N_RECORDS records; reading $CORPUS into the page cache"
    find "$CORPUS" -type f -name '*.json.gz' -print0 | xargs -0 cat > /dev/null
    for ((r = 1; r <= RUNS; r++)); do
        for TOOL in $TOOLS; do
            for ((try = 0; ; try++)); do
                LABEL="run$r.$try"
                measure
                [[ "$VERDICT" == contaminated ]] || break
                ((try < RETRIES)) || { say "run $r still contaminated after $RETRIES retries; keeping it"; break; }
            done
            if [[ "$VERDICT" == failed ]]; then
                say "DuckDB failed at $N_REQ (exit in $LOGS/runs, stderr in $LOGS/$N_REQ.duckdb.$LABEL.err); not run again at this size"
                TOOLS="${TOOLS/ duckdb/}"
            fi
        done
    done
done
# The measured run of each round is its last attempt.
awk '{ split($4, p, "."); key = $1 " " $3 " " p[1]; if (!(key in last)) order[++k] = key; last[key] = $0 }
     END { for (i = 1; i <= k; i++) print last[order[i]] }' "$LOGS/runs" > "$LOGS/measured"

# 5. Tables.
median() {  # SIZE TOOL: median wall seconds of the successful measured runs
    awk -v s="$1" -v t="$2" '$1 == s && $3 == t && $10 != "failed" { print $5 }' "$LOGS/measured" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
max_kib() {  # SIZE TOOL
    awk -v s="$1" -v t="$2" '$1 == s && $3 == t && $10 != "failed" { print $6 }' "$LOGS/measured" | sort -g | tail -n 1
}
n_runs() { awk -v s="$1" -v t="$2" '$1 == s && $3 == t && $10 != "failed"' "$LOGS/measured" | wc -l; }
results() {  # SIZE TOOL: the distinct result columns of its measured runs
    awk -v s="$1" -v t="$2" '$1 == s && $3 == t { print $11 }' "$LOGS/measured" | sort -u | paste -sd' ' -
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
verdict() {  # VALUE OP LIMIT
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v == "n/a" || v == "") { print "n/a"; exit }
        ok = (op == ">=") ? v >= l : v <= l; print ok ? "met" : "NOT met" }'
}
describe() {
    case "$1" in
        inventory) echo "inventory --format json" ;;
        count) echo "query --count" ;;
        ndjson) echo "query --format ndjson" ;;
        audit) echo "audit, 5 formats" ;;
        duckdb) echo "DuckDB read_json + unnest count" ;;
    esac
}

echo
echo "machine: $NCPU CPUs, $(awk '/MemTotal/ { printf "%.1f GB RAM", $2 * 1024 / 1e9 }' /proc/meminfo); $("$BIN" --version 2>/dev/null || echo trailaudit) at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo ' (uncommitted changes)'); duckdb $DUCKDB_VERSION"
echo "$RUNS measured round(s) per size; IDLE_WAIT=$IDLE_WAIT"
echo
echo "corpora (gen-corpus bench; MB = 10^6 bytes):"
for n in $SIZES; do
    jq -r --arg n "$n" '"  \($n): \(.files) files, \(.records) records (\(.distinct_event_ids) distinct eventIDs), \(.uncompressed_bytes / 1e6 * 10 | round / 10) MB JSON, \(.compressed_bytes / 1e6 * 10 | round / 10) MB gzipped, \(.disk_kib * 1024 / 1e6 * 10 | round / 10) MB on disk"' "$(summary_of "$n")"
done
echo
echo "patterns: count $COUNT_PATTERN; ndjson $NDJSON_PATTERN"
echo
echo "every run (requested, records, command, run.attempt, wall s, peak RSS KiB, user s, sys s, CPU s used by others, verdict, result):"
awk '{ printf "  %9s %9s %-9s %-7s %8s %9s %8s %7s %7s  %-12s %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$LOGS/runs"
echo
echo "| records | command | runs | median s | records/s | peak RSS MB | result |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | --- |"
for n in $SIZES; do
    recs="$(jq -r '.records' "$(summary_of "$n")")"
    for t in inventory count ndjson audit duckdb; do
        runs="$(n_runs "$n" "$t")"
        res="$(results "$n" "$t")"
        if ((runs == 0)); then
            [[ -n "$res" ]] || res="skipped"
            printf '| %s | %s | 0 | - | - | - | %s |\n' "$recs" "$(describe "$t")" "$res"
            continue
        fi
        awk -v n="$recs" -v c="$(describe "$t")" -v r="$runs" -v s="$(median "$n" "$t")" \
            -v k="$(max_kib "$n" "$t")" -v res="$res" \
            'BEGIN { printf "| %d | %s | %d | %.2f | %.0f | %.1f | %s |\n", n, c, r, s, n / s, k * 1024 / 1e6, res }'
    done
done

echo
echo "targets (base: $BASE_SIZE requested records):"
A_BASE="$(median "$BASE_SIZE" audit)"
K_BASE="$(max_kib "$BASE_SIZE" audit)"
r="$(ratio "$(median "$BASE_SIZE" duckdb)" "$A_BASE")"
echo "  DuckDB unnest time / audit time at $BASE_SIZE: $r (target >= 3): $(verdict "$r" '>=' 3)"
for n in $SIZES; do
    k="$(max_kib "$n" audit)"
    echo "  audit peak RSS at $n: $(mb "$k") MB (target <= $RSS_LIMIT_MB MB): $(verdict "$(mb "$k")" '<=' "$RSS_LIMIT_MB")"
done
for n in $SIZES; do
    [[ "$n" != "$BASE_SIZE" ]] || continue
    r="$(ratio "$(max_kib "$n" audit)" "$K_BASE")"
    echo "  audit peak RSS at $n / at $BASE_SIZE: $r (target <= 1.25): $(verdict "$r" '<=' 1.25)"
done
for n in $SIZES; do
    [[ "$n" != "$BASE_SIZE" ]] || continue
    r="$(ratio "$(median "$n" audit)" "$A_BASE")"
    lim="$(awk -v a="$n" -v b="$BASE_SIZE" 'BEGIN { printf "%.2f", 1.1 * a / b }')"
    recs="$(ratio "$(jq -r '.records' "$(summary_of "$n")")" "$(jq -r '.records' "$(summary_of "$BASE_SIZE")")")"
    echo "  audit time at $n / at $BASE_SIZE: $r (records ratio $recs; target <= $lim = 1.1 x sizes ratio): $(verdict "$r" '<=' "$lim")"
done

# 6. The streamed outputs against the whole-frame path's.
WHOLE_ARGS=(--chunk-rows 100000000 --keys-in-memory 18446744073709551615)
# normalised_report FILE: report.json without what two runs of one audit may not share.
normalised_report() { jq -S 'del(.generated_at, .manifest.command_line)' "$1"; }
differs() {  # WHAT STREAMED WHOLE
    echo "scale.sh: at $N_REQ the whole-frame $1 differs from the streamed one: diff $2 $3" >&2
    exit 1
}
run_whole() {  # NAME ARGS...: trailaudit ARGS on the whole-frame path under GNU time; prints "wall s, peak MB"
    local name="$1" t="$WHOLE/$1.time" rc=0
    shift
    (cd "$BENCH_DIR" && exec /usr/bin/time -o "$t" -f '%e %M' "$BIN" --quiet "$@" "${WHOLE_ARGS[@]}") \
        > "$WHOLE/$name.out" 2> "$WHOLE/$name.err" || rc=$?
    [[ "$rc" == 0 || ("$name" == audit && "$rc" == 1) ]] ||
        { echo "scale.sh: whole-frame $name at $N_REQ: exit $rc (stderr in $WHOLE/$name.err)" >&2; exit 1; }
    tail -n 1 "$t" | awk '{ printf "%.2f s, %.1f MB", $1, $2 * 1024 / 1e6 }'
}
if [[ -n "$COMPARE_SIZES" ]]; then
    echo
    echo "whole-frame path (one chunk, every key in memory) against the streamed runs:"
fi
for N_REQ in $COMPARE_SIZES; do
    CORPUS="$(corpus_dir "$N_REQ")"
    OUT="$BENCH_DIR/out/$N_REQ"
    WHOLE="$OUT/whole"
    rm -rf "$WHOLE"
    mkdir -p "$WHOLE"
    m="$(run_whole inventory inventory "$CORPUS" --format json -o "$WHOLE/inventory.json")"
    jq -S . "$OUT/inventory.json" > "$WHOLE/inventory.streamed.json"
    jq -S . "$WHOLE/inventory.json" > "$WHOLE/inventory.whole.json"
    cmp -s "$WHOLE/inventory.streamed.json" "$WHOLE/inventory.whole.json" ||
        differs inventory "$WHOLE/inventory.streamed.json" "$WHOLE/inventory.whole.json"
    echo "  $N_REQ inventory: equal ($m)"
    m="$(run_whole count query "$COUNT_PATTERN" "$CORPUS" --count)"
    [[ "$(cat "$WHOLE/count.out")" == "$(cat "$LOGS/$N_REQ.count.result")" ]] ||
        differs "query --count" "$LOGS/$N_REQ.count.result" "$WHOLE/count.out"
    echo "  $N_REQ query --count: equal, $(cat "$WHOLE/count.out") ($m)"
    m="$(run_whole ndjson query "$NDJSON_PATTERN" "$CORPUS" --format ndjson -o "$WHOLE/iam.ndjson")"
    cmp -s "$OUT/iam.ndjson" "$WHOLE/iam.ndjson" || differs "query ndjson" "$OUT/iam.ndjson" "$WHOLE/iam.ndjson"
    echo "  $N_REQ query ndjson: equal, $(wc -l < "$WHOLE/iam.ndjson") lines ($m)"
    m="$(run_whole audit audit --logs "$CORPUS" --format json -o "$WHOLE/report.json" --allow-partial)"
    normalised_report "$OUT/audit/report.json" > "$WHOLE/report.streamed.json"
    normalised_report "$WHOLE/report.json" > "$WHOLE/report.whole.json"
    cmp -s "$WHOLE/report.streamed.json" "$WHOLE/report.whole.json" ||
        differs "audit report" "$WHOLE/report.streamed.json" "$WHOLE/report.whole.json"
    echo "  $N_REQ audit report.json: equal but for generated_at and manifest.command_line ($m)"
done
