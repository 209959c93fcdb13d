#!/usr/bin/env bash
# Runs Kite's tests with the race detector. Tests that need a real server skip
# with a message unless one is configured; with KITE_REQUIRE_SERVERS=1 (set by
# .ci/run) such a skip is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test -race -count=1 ./...
