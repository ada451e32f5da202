#!/usr/bin/env bash
# README command 1: install dependencies, build, and run `vestnik serve` with
# its embedded defaults (spool in ./var, API on 127.0.0.1:8025). Extra
# arguments go to `vestnik serve` (e.g. --config examples/sink.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
exec ./build/app/vestnik serve "$@"
