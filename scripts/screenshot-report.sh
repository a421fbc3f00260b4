#!/usr/bin/env bash
# Renders the sample audit's HTML report and photographs it in headless Chromium, so a
# contributor can look at the report as a reader does (and at its print layout, as PDF).
#
#   scripts/screenshot-report.sh [OUT_DIR]        (default: target/report-shots)
#
# Installs Debian's chromium package when it is missing (needs root and the package
# registry). Writes OUT_DIR/report.html, report-top.png (first screen), report-full.png (a
# tall capture of the whole page, cut at 16,000 px) and report.pdf (Chromium's print).
# Chromium runs with no network: the report must not need one.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/report-shots}
mkdir -p "$out"

if ! command -v chromium >/dev/null; then
  echo "installing chromium from the distribution's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

cargo run --quiet --release -- audit --quiet --format html -o "$out/report.html" || [ $? -eq 1 ]

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
shoot() {
  # --headless: no display; the other flags keep Chromium from calling home, which this
  # offline machine refuses, and from needing a sandbox or a GPU when run as root in CI.
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-default-apps --hide-scrollbars --user-data-dir="$profile" "$@" \
    "file://$PWD/$out/report.html" 2>/dev/null
}
shoot --window-size=1400,1000 --screenshot="$PWD/$out/report-top.png"
shoot --window-size=1400,16000 --screenshot="$PWD/$out/report-full.png"
shoot --no-pdf-header-footer --print-to-pdf="$PWD/$out/report.pdf"
ls -l "$out"
