#!/usr/bin/env bash
# Runs leye's whole test suite on a fresh machine: everything the tests need is
# found or installed here. Used verbatim by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked --all-targets
