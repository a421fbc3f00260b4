#!/usr/bin/env bash
# The cache key of the action's build (action.yml): the runner's OS and architecture and a
# SHA-256 over every file the build reads (the crate's package: Cargo.toml's include list).
set -euo pipefail
cd "${GITHUB_ACTION_PATH:?}"
sum=$(find Cargo.toml Cargo.lock build.rs src policies report-templates -type f -print0 \
  | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-32)
echo "key=trailaudit-${RUNNER_OS:-os}-${RUNNER_ARCH:-arch}-$sum" >>"${GITHUB_OUTPUT:?}"
