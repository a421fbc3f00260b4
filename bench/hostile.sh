#!/usr/bin/env bash
# Hostile evidence at full size (issue 15): each case the issue names, run by the release
# binary under a 4 GiB address-space cap, with its exit status, wall time and peak RSS. The
# integration tests (tests/it/hostile.rs) check the same cases at a size a debug build runs in
# seconds; this script checks the acceptance at the sizes the issue measured.
#
# Usage (from anywhere):
#
#   bench/hostile.sh
#   BENCH_DIR=/tmp/h SKIP_BUILD=1 bench/hostile.sh
#
# Environment:
#   BENCH_DIR         work directory for the inputs and logs (default /tmp/trailaudit-hostile)
#   CARGO_TARGET_DIR  cargo target directory (default ./target of the repository)
#   SKIP_BUILD        1: do not run cargo, use the release binary already built
#   BOMB_RECORDS      tiny records in the record bomb (default 7000000, the issue's)
#   CAP_GIB           address-space cap in GiB (default 4)
#   PEAK_MIB          the peak RSS every case must stay under, in MiB (default 1024)
#
# Exit status: 0 when every case exited 0, 1 or 2 under the cap with its peak under PEAK_MIB,
# else 1 (the table says which case did not).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/trailaudit-hostile}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BOMB_RECORDS="${BOMB_RECORDS:-7000000}"
CAP_GIB="${CAP_GIB:-4}"
PEAK_MIB="${PEAK_MIB:-1024}"
BIN="$TARGET/release/trailaudit"

say() { echo "hostile: $*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    say "building the release binary"
    # The same target set as bench/scale.sh, so both share one build.
    (cd "$ROOT" && cargo build --release --bin trailaudit --example gen-corpus >&2)
fi

mkdir -p "$BENCH_DIR"
INPUTS="$BENCH_DIR/inputs"
rm -rf "$INPUTS" "$BENCH_DIR/out"
mkdir -p "$INPUTS" "$BENCH_DIR/logs"

say "writing the hostile inputs to $INPUTS"
python3 - "$INPUTS" "$BOMB_RECORDS" <<'EOF'
import gzip, os, random, sys
root, bomb_records = sys.argv[1], int(sys.argv[2])

def d(name):
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    return path

# A record bomb: millions of tiny valid records in one small gzip file; and two of them.
rec = b'{"eventTime":"2026-07-01T00:00:00Z","eventName":"GetObject"}'
with gzip.open(os.path.join(d("bomb"), "bomb.json.gz"), "wb", compresslevel=9) as f:
    f.write(b'{"Records":[' + b",".join([rec] * bomb_records) + b"]}")
# Two copies, not links: a hard link is one file to trailaudit, read once.
with open(os.path.join(root, "bomb", "bomb.json.gz"), "rb") as src:
    bomb = src.read()
for name in ("a.json.gz", "b.json.gz"):
    with open(os.path.join(d("bombs"), name), "wb") as dst:
        dst.write(bomb)

# Two gzip files of about 4 MB whose size trailer claims 4 GiB - 1.
random.seed(15)
for name in ("liar1.json.gz", "liar2.json.gz"):
    body = b",".join(
        b'{"eventTime":"2026-07-01T00:00:00Z","eventName":"E%d","requestID":"%032x"}'
        % (i, random.getrandbits(128))
        for i in range(60000)
    )
    data = bytearray(gzip.compress(b'{"Records":[' + body + b"]}"))
    data[-4:] = (0xFFFFFFFF).to_bytes(4, "little")
    with open(os.path.join(d("liars"), name), "wb") as f:
        f.write(data)

# Forged dates: years 1 and 9999 (rejected), and 2013 beside 2026 (a 13-year span).
with open(os.path.join(d("forged"), "forged.json"), "w") as f:
    recs = [
        '{"eventTime":"%s","eventName":"GetObject","recipientAccountId":"999988887777","awsRegion":"us-east-1"}' % t
        for t in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                  "2013-01-01T00:00:00Z", "2026-09-30T00:00:00Z")
    ]
    f.write('{"Records":[%s]}' % ",".join(recs))

# Special files: a FIFO and a link to an endless device, beside one good file.
special = d("special")
os.mkfifo(os.path.join(special, "fifo.json"))
os.symlink("/dev/zero", os.path.join(special, "zero.json"))
with open(os.path.join(special, "good.json"), "w") as f:
    f.write('{"Records":[%s]}' % rec.decode())
EOF

# Runs one case under the cap; prints a table row and returns 1 when it breaks the promise.
failed=0
run_case() {
    local name="$1"; shift
    local log="$BENCH_DIR/logs/$name"
    python3 - "$CAP_GIB" "$log" "$@" <<'EOF' || failed=1
import os, resource, subprocess, sys, time
cap = int(sys.argv[1]) << 30
log = sys.argv[2]
args = sys.argv[3:]
def limit():
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
start = time.monotonic()
with open(log + ".out", "wb") as out, open(log + ".err", "wb") as err:
    p = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                         preexec_fn=limit)
    _, status, usage = os.wait4(p.pid, 0)
wall = time.monotonic() - start
code = os.waitstatus_to_exitcode(status)
peak_mib = usage.ru_maxrss / 1024
print(f"{code}\t{wall:.2f}\t{peak_mib:.0f}")
EOF
}

printf '%-34s %5s %8s %10s\n' "case" "exit" "wall s" "peak MiB"
while IFS='|' read -r name cmd; do
    read -r -a argv <<< "$cmd"
    row="$(run_case "$name" "$BIN" "${argv[@]}")" || true
    IFS=$'\t' read -r code wall peak <<< "$row"
    verdict=ok
    if [[ ! "$code" =~ ^[012]$ ]] || ((peak >= PEAK_MIB)); then
        verdict=FAILED
        failed=1
    fi
    printf '%-34s %5s %8s %10s  %s\n' "$name" "$code" "$wall" "$peak" "$verdict"
done <<EOF
bomb-inventory|inventory $INPUTS/bomb --format json
bomb-audit-all-formats|audit --logs $INPUTS/bomb --format html,md,json,sarif,junit -o $BENCH_DIR/out/bomb
two-bombs-inventory|inventory $INPUTS/bombs --format json
two-bombs-audit|audit --logs $INPUTS/bombs --format json
two-bombs-query-input-order|query {\$.eventName=GetObject} $INPUTS/bombs --input-order --format csv --fields eventName
lying-trailers-inventory|inventory $INPUTS/liars --format json
forged-dates-inventory|inventory $ROOT/samples/logs $INPUTS/forged --format json
forged-dates-audit-html|audit --logs $ROOT/samples/logs $INPUTS/forged --config $ROOT/samples/config --format html,md,json -o $BENCH_DIR/out/forged
special-files-inventory|inventory $INPUTS/special --format json
EOF

if ((failed)); then
    say "a case broke the promise (exit 0-2, peak < ${PEAK_MIB} MiB): see $BENCH_DIR/logs"
    exit 1
fi
say "every case exited 0-2 under a ${CAP_GIB} GiB cap with its peak under ${PEAK_MIB} MiB"
