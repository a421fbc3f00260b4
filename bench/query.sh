#!/usr/bin/env bash
# Filter, query and audit benchmarks over the corpus of bench/load.sh (run that first).
#
#   bench/query.sh
#
# 1. bench-filter: compiles and evaluates filter patterns over an already-loaded 1M-row
#    EventFrame (loading excluded); 7 runs each, median/min/max in ms.
# 2. `trailaudit query PATTERN CORPUS --count` against DuckDB computing the same count over the
#    same files (read_json_objects + unnest + json_extract_string), RUNS runs each, medians.
# 3. `trailaudit audit --logs CORPUS` (every event policy) against `trailaudit inventory CORPUS`
#    (load and summarise only), RUNS runs each, medians.
# Environment: BENCH_DIR (default /tmp/trailaudit-bench), CARGO_TARGET_DIR, RUNS (default 3).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/trailaudit-bench}"
RUNS="${RUNS:-3}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
CORPUS="$BENCH_DIR/corpus"
PY="$BENCH_DIR/venv/bin/python"
[ -d "$CORPUS" ] && [ -x "$PY" ] || { echo "run bench/load.sh first (corpus and DuckDB venv)" >&2; exit 2; }
(cd "$REPO" && cargo build --release --bin trailaudit --example bench-filter >&2)
BIN="$TARGET/release/trailaudit"

echo "## Filter evaluation over the loaded frame"
[ -n "${SKIP_FILTER:-}" ] || "$TARGET/release/examples/bench-filter" "$CORPUS" 7

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { # timed CMD...: prints wall seconds; the command's stdout goes to $BENCH_DIR/last.out,
    # its peak RSS in KiB to $BENCH_DIR/last.rss
    /usr/bin/time -f '%e %M' -o "$BENCH_DIR/last.time" "$@" > "$BENCH_DIR/last.out"
    tail -n 1 "$BENCH_DIR/last.time" | cut -d' ' -f2 > "$BENCH_DIR/last.rss"
    tail -n 1 "$BENCH_DIR/last.time" | cut -d' ' -f1
}

IAM='{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}'
NAMES="'DeleteGroupPolicy','DeleteRolePolicy','DeleteUserPolicy','PutGroupPolicy','PutRolePolicy','PutUserPolicy','CreatePolicy','DeletePolicy','CreatePolicyVersion','DeletePolicyVersion','AttachRolePolicy','DetachRolePolicy','AttachUserPolicy','DetachUserPolicy','AttachGroupPolicy','DetachGroupPolicy'"
# DuckDB's best form of the same count: only each record's eventName is extracted. Slower forms
# measured (session 4): read_json with the column declared as STRUCT(eventName VARCHAR)[] then
# list_filter or unnest, 47 to 57 s; unnesting whole records spills gigabytes to disk.
SQL="SELECT count(*) FROM (SELECT unnest(json_extract_string(json, '\$.Records[*].eventName')) AS n FROM read_json_objects('$CORPUS/**/*.json.gz', format='unstructured')) WHERE n IN ($NAMES)"

echo
echo "## query --count (CIS 4.4 IAM policy changes) vs DuckDB, same files"
ours=(); theirs=(); rss_ours=0; rss_theirs=0
"$BIN" query "$IAM" "$CORPUS" --count > /dev/null
for _ in $(seq "$RUNS"); do
    ours+=("$(timed "$BIN" query "$IAM" "$CORPUS" --count)"); n_ours=$(cat "$BENCH_DIR/last.out")
    rss_ours=$(( $(cat "$BENCH_DIR/last.rss") > rss_ours ? $(cat "$BENCH_DIR/last.rss") : rss_ours ))
    theirs+=("$(cd "$BENCH_DIR" && timed "$PY" -c "import duckdb,sys; c=duckdb.connect(); c.execute(\"SET enable_progress_bar=false\"); c.execute(\"SET temp_directory='$BENCH_DIR/duckdb-tmp'\"); print(c.execute(sys.argv[1]).fetchone()[0])" "$SQL")"); n_theirs=$(cat "$BENCH_DIR/last.out")
    rss_theirs=$(( $(cat "$BENCH_DIR/last.rss") > rss_theirs ? $(cat "$BENCH_DIR/last.rss") : rss_theirs ))
done
[ "$n_ours" = "$n_theirs" ] || { echo "counts differ: trailaudit $n_ours, DuckDB $n_theirs" >&2; exit 1; }
o=$(printf '%s\n' "${ours[@]}" | median); t=$(printf '%s\n' "${theirs[@]}" | median)
echo "count $n_ours (both)"
echo "trailaudit runs: ${ours[*]} s; median $o s"
echo "DuckDB runs:     ${theirs[*]} s; median $t s"
echo "peak RSS: trailaudit $rss_ours KiB, DuckDB $rss_theirs KiB (max over runs)"
awk -v o="$o" -v t="$t" 'BEGIN { printf "DuckDB time / trailaudit time: %.2f\n", t / o }'

echo
echo "## audit (every event policy) vs inventory (load only)"
inv=(); aud=()
for _ in $(seq "$RUNS"); do
    inv+=("$(timed "$BIN" inventory "$CORPUS" --format json)")
    aud+=("$(timed "$BIN" audit --logs "$CORPUS" --format json --allow-partial)") || true
done
i=$(printf '%s\n' "${inv[@]}" | median); a=$(printf '%s\n' "${aud[@]}" | median)
echo "inventory runs: ${inv[*]} s; median $i s"
echo "audit runs:     ${aud[*]} s; median $a s"
awk -v i="$i" -v a="$a" 'BEGIN { printf "audit time / load time: %.2f\n", a / i }'
