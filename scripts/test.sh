#!/usr/bin/env bash
# Runs Kite's tests with the race detector against real servers: MinIO,
# versitygw and fake-gcs-server, built once into .bin/ and started on free
# 127.0.0.1 ports by scripts/servers.sh, stopped when the tests end. The exit
# status is go test's.
#
# KITE_NO_SERVERS=1 runs go test alone (no build, no servers): tests that need
# a server skip with a message saying how to run them, unless
# KITE_REQUIRE_SERVERS=1 (set by .ci/run), which makes such a skip a failure.
# Extra arguments go to go test (default ./...), e.g.
#   ./scripts/test.sh -run TestMinIO ./s3
set -euo pipefail
cd "$(dirname "$0")/.."

args=("$@")
((${#args[@]} > 0)) || args=(./...)

if [[ ${KITE_NO_SERVERS:-} == 1 ]]; then
	exec go test -race -count=1 "${args[@]}"
fi
exec ./scripts/servers.sh go test -race -count=1 "${args[@]}"
