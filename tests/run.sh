#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this). It starts everything the
# tests need itself, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
