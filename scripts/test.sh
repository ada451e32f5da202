#!/usr/bin/env bash
# README command 2 (and what CI runs): install dependencies, build, and run
# the whole test suite with CTest: unit, integration and fuzz-replay tests.
# Integration tests start real servers on 127.0.0.1 only and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/install-deps.sh
bash scripts/build.sh
echo "build done in $(( $(date +%s) - start )) s"
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
echo "tests done in $(( $(date +%s) - start )) s"
