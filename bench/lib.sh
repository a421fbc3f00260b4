# Shared by the benchmark scripts (sourced, not run). Needs: VENV, IDLE_WAIT, HZ, NCPU and a
# `say` function from the script that sources it.

# The DuckDB venv at $VENV, made if missing; sets DUCKDB_VERSION.
ensure_duckdb_venv() {
    if ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
        say "creating $VENV with duckdb"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet duckdb
    fi
    DUCKDB_VERSION="$("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')"
}

busy_ticks() {  # CPU ticks not idle, whole machine
    local _c u n s _i _w q sq st
    read -r _c u n s _i _w q sq st _ < /proc/stat
    echo $((u + n + s + q + sq + st))
}

wait_idle() {  # until the machine is >= 90% idle over 2 s, or IDLE_WAIT seconds
    ((IDLE_WAIT > 0)) || return 0
    local deadline=$((SECONDS + IDLE_WAIT)) a b
    while :; do
        a="$(busy_ticks)"; sleep 2; b="$(busy_ticks)"
        (((b - a) * 100 <= 2 * HZ * NCPU * 10)) && return 0
        if ((SECONDS >= deadline)); then
            say "machine still busy after ${IDLE_WAIT}s; running anyway"
            return 0
        fi
    done
}
