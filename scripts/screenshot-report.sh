#!/usr/bin/env bash
# Renders the sample audit's HTML report and photographs it in headless Chromium, so a
# contributor can look at the report as a reader does (and at its print layout, as PDF).
#
#   scripts/screenshot-report.sh [OUT_DIR]        (default: target/report-shots)
#   TRAILAUDIT=target/debug/trailaudit scripts/screenshot-report.sh   (a binary already built)
#
# Installs Debian's chromium package when it is missing (needs root and the package
# registry). Writes OUT_DIR/report.html, report-top.png (first screen), report-full.png (a
# tall capture of the whole page, cut at 16,000 px) and report.pdf (Chromium's print).
# Chromium runs with no network: the report must not need one.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/report-shots}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if ! command -v chromium >/dev/null; then
  echo "installing chromium from the distribution's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# TRAILAUDIT=path/to/trailaudit uses a binary already built; otherwise cargo builds one.
if [ -n "${TRAILAUDIT:-}" ]; then run=("$TRAILAUDIT"); else run=(cargo run --quiet --release --); fi
"${run[@]}" audit --logs samples/logs --config samples/config --quiet --format html -o "$out/report.html" || [ $? -eq 1 ]

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
shoot() {
  # --headless: no display; the other flags keep Chromium from calling home, which this
  # offline machine refuses, and from needing a sandbox or a GPU when run as root in CI.
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-default-apps --hide-scrollbars --user-data-dir="$profile" "$@" \
    "file://$out/report.html" 2>/dev/null
}
shoot --window-size=1400,1000 --screenshot="$out/report-top.png"
shoot --window-size=1400,16000 --screenshot="$out/report-full.png"
shoot --no-pdf-header-footer --print-to-pdf="$out/report.pdf"
ls -l "$out"
