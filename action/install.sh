#!/usr/bin/env bash
# The install step of the GitHub Action (action.yml): builds trailaudit from the action's own
# source (GITHUB_ACTION_PATH) with the toolchain that Cargo.toml's rust-version names, in the
# `dist` profile (the small binary: BENCHMARKS.md, "Binary size"), into DEST/bin. The action
# caches DEST under a key of the source (key.sh), so a repository builds each version once.
set -euo pipefail
src=${GITHUB_ACTION_PATH:?}
dest=${1:?usage: install.sh DEST}
toolchain=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' "$src/Cargo.toml")
rustup toolchain install "$toolchain" --profile minimal --no-self-update
rustup run "$toolchain" cargo install --locked --path "$src" --profile dist --bin trailaudit \
  --root "$dest"
"$dest/bin/trailaudit" --version
