#!/usr/bin/env bash
# Starts Kite's real test servers (MinIO, versitygw, fake-gcs-server) on free
# 127.0.0.1 ports, runs a command with their endpoints and credentials in the
# environment, then stops them and removes their data, whatever happens:
#
#   scripts/servers.sh go test -race -count=1 ./...
#   scripts/servers.sh go test -run TestS3 -v ./s3
#
# The command sees KITE_MINIO_ENDPOINT, KITE_MINIO_ACCESS_KEY,
# KITE_MINIO_SECRET_KEY, KITE_VERSITYGW_{ENDPOINT,ACCESS_KEY,SECRET_KEY} and
# KITE_GCS_ENDPOINT (host:port, what STORAGE_EMULATOR_HOST wants), and
# KITE_MINIO_BIN / KITE_VERSITYGW_BIN (the binaries, for tests that start
# servers of their own). Its exit
# status is this script's. Run this script, do not source it: it owns the
# EXIT/INT/TERM traps. The command runs in a session of its own (no
# controlling terminal), so it suits go test, not an interactive shell.
#
# The servers are built once with `go install` at pinned versions into the
# git-ignored .bin/, under names that carry the version: bumping a version
# below builds the new one, an existing binary is reused.
#
# Knobs: KITE_SERVERS_TMPDIR (parent of the temp dir, default $TMPDIR or
# /tmp; versitygw needs user xattrs there), KITE_SERVERS_TIMEOUT (seconds to
# wait for each server to be ready, default 60), KITE_SERVERS_BUILD=parallel
# (build the missing servers all at once instead of one after another).
set -euo pipefail
# EPOCHREALTIME, SRANDOM and wait -n -p need bash 5.1.
((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 501)) || {
	echo "servers.sh: needs bash >= 5.1, this is $BASH_VERSION" >&2
	exit 1
}

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
VERSITYGW_VERSION=v1.8.0
FAKE_GCS_VERSION=v1.56.1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.bin"
GO="${GO:-go}"
TIMEOUT="${KITE_SERVERS_TIMEOUT:-60}"

MINIO="$BIN/minio-$MINIO_VERSION"
VERSITYGW="$BIN/versitygw-$VERSITYGW_VERSION"
FAKE_GCS="$BIN/fake-gcs-server-$FAKE_GCS_VERSION"

log() { printf 'servers.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Milliseconds since the epoch, from bash itself (no date/bc forks).
now_ms() { local us=${EPOCHREALTIME/[.,]/}; echo $((us / 1000)); }
secs_since() { local ms=$(($(now_ms) - $1)); printf '%d.%02ds' $((ms / 1000)) $((ms % 1000 / 10)); }

# ---------------------------------------------------------------- cleanup

# Everything started or created is recorded here so that one EXIT trap can
# undo it on every path: normal end, command failure, a server failing to
# start, Ctrl-C, SIGTERM.
TMP=""            # the one temp dir: data dirs and logs of all servers
CHILD=""          # pid (= process group) of the command under test
declare -A PIDS=()      # server name -> pid (= process group, see launch)
declare -A BUILDS=()    # pid (= process group) of a running go install -> name
declare -A BUILD_DIR=() # server name -> its private GOBIN while building
declare -A BUILD_CMD=() BUILD_DEST=() BUILD_START=()

# kill_group PGID: SIGTERM the process group, SIGKILL it after a grace period,
# then reap the leader (it is our child) so nothing outlives the script.
kill_group() {
	local pgid=$1 grace_ms=${2:-10000} sig=${3:-TERM} start
	kill -"$sig" -- "-$pgid" 2>/dev/null || return 0
	start=$(now_ms)
	while kill -0 -- "-$pgid" 2>/dev/null; do
		if (($(now_ms) - start > grace_ms)); then
			log "process group $pgid still alive after ${grace_ms}ms: SIGKILL"
			kill -KILL -- "-$pgid" 2>/dev/null || true
			break
		fi
		sleep 0.05
	done
	wait "$pgid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	# No second signal may interrupt the cleanup half-way.
	trap '' INT TERM
	if [[ -n $CHILD ]]; then
		# SIGINT to its whole group, which holds the test binaries go
		# test started (go test itself only stops scheduling on SIGINT);
		# SIGKILL after 5 s for whatever ignores it.
		kill_group "$CHILD" 5000 INT
		CHILD=""
	fi
	local pid name
	for pid in "${!BUILDS[@]}"; do
		kill_group "$pid" 2000
	done
	for name in "${!BUILD_DIR[@]}"; do
		rm -rf -- "${BUILD_DIR[$name]}"
	done
	for name in "${!PIDS[@]}"; do
		kill_group "${PIDS[$name]}"
	done
	PIDS=()
	if [[ -n $TMP ]]; then
		rm -rf -- "$TMP"
	fi
	exit "$rc"
}
on_signal() {
	log "caught SIG$1: cleaning up"
	exit $((128 + $2)) # runs cleanup through the EXIT trap
}
trap cleanup EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM

# ---------------------------------------------------------------- build

# Each `go install` runs in its own process group (setsid) so that cleanup can
# stop a build with its compiler processes; it installs into a private GOBIN
# and is renamed into place only when complete, so a half-written binary is
# never reused and two concurrent runs cannot clobber each other.

start_build() { # NAME PKG@VERSION CMD DEST
	local name=$1 tmp
	tmp=$(mktemp -d "$BIN/.build-$name.XXXXXX")
	BUILD_DIR[$name]=$tmp BUILD_CMD[$name]=$3 BUILD_DEST[$name]=$4 BUILD_START[$name]=$(now_ms)
	GOBIN="$tmp" setsid "$GO" install "$2" </dev/null >"$tmp/build.log" 2>&1 &
	BUILDS[$!]=$name
}

# finish_build: wait for any one running build and install its binary.
finish_build() {
	local pid rc=0 name tmp
	wait -n -p pid "${!BUILDS[@]}" || rc=$?
	name=${BUILDS[$pid]}
	unset 'BUILDS[$pid]'
	tmp=${BUILD_DIR[$name]}
	if ((rc != 0)); then
		log "building $name failed (exit $rc):"
		tail -n 40 "$tmp/build.log" | sed 's/^/    /' >&2
		rm -rf -- "$tmp"
		unset 'BUILD_DIR[$name]'
		return 1
	fi
	mv -f -- "$tmp/${BUILD_CMD[$name]}" "${BUILD_DEST[$name]}"
	rm -rf -- "$tmp"
	unset 'BUILD_DIR[$name]'
	log "built $name in $(secs_since "${BUILD_START[$name]}")"
}

build_all() {
	mkdir -p "$BIN"
	local -a todo=()
	[[ -x $MINIO ]] || todo+=("minio github.com/minio/minio@$MINIO_VERSION minio $MINIO")
	[[ -x $VERSITYGW ]] || todo+=("versitygw github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION versitygw $VERSITYGW")
	[[ -x $FAKE_GCS ]] || todo+=("fake-gcs-server github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION fake-gcs-server $FAKE_GCS")
	((${#todo[@]} > 0)) || return 0

	local start spec failed=0
	start=$(now_ms)
	log "building ${#todo[@]} server(s) into $BIN (first time only; minutes)"
	for spec in "${todo[@]}"; do
		# shellcheck disable=SC2086 # spec is four words, none with spaces
		start_build $spec
		# One at a time by default: on 2 cores each build already keeps
		# both busy, and minio and versitygw share many packages (AWS SDK,
		# gRPC, protobuf...) that concurrent builds would each compile.
		# Measured here: cold 360 s sequential vs 424 s parallel; with a
		# warm build cache (links only) 15 s vs 11 s.
		if [[ ${KITE_SERVERS_BUILD:-sequential} != parallel ]]; then
			finish_build || failed=1
		fi
	done
	while ((${#BUILDS[@]} > 0)); do
		finish_build || failed=1
	done
	((failed == 0)) || die "could not build the test servers"
	log "builds done in $(secs_since "$start")"
}

# ---------------------------------------------------------------- ports

# free_port: sets PORT to a random 127.0.0.1 port that nothing listens on.
# Plain bash, so neither python3 nor a slow `go run` helper is needed. Ports
# come from below the kernel's ephemeral range, so an outgoing connection
# cannot be holding one. Like any pick-then-bind scheme (binding port 0 and
# closing it included) this can race with another process: start_all retries
# on another port when a server reports its port in use. (A variable, not
# output: $(free_port) would run in a subshell and forget TAKEN.)
declare -A TAKEN=() # ports handed out in this run
PORT=""
free_port() {
	local lo=20000 hi eph_lo _ p i
	read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph_lo=32768
	hi=$((eph_lo - 1))
	((hi - lo > 1000)) || { lo=10000; hi=65000; }
	for ((i = 0; i < 100; i++)); do
		p=$((lo + (SRANDOM % (hi - lo + 1))))
		[[ -z ${TAKEN[$p]:-} ]] || continue
		# A refused connection means no listener on the port.
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			TAKEN[$p]=1 PORT=$p
			return 0
		fi
	done
	die "no free port found in $lo-$hi"
}

# ---------------------------------------------------------------- servers

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# launch NAME PORT: start server NAME on PORT in its own session and process
# group (setsid: the terminal's Ctrl-C reaches only this script, which stops
# the servers in order; kill -- -PGID then takes any helper processes too).
# Output goes to $TMP/NAME.log, shown only on failure.
launch() {
	local name=$1 port=$2 data="$TMP/$1.data"
	rm -rf -- "$data" && mkdir -p "$data"
	case $name in
	minio)
		# MINIO_CI_CD: this machine looks like a container to MinIO and
		# the drive is on the root filesystem; UPDATE=off: no update
		# checks off the machine.
		MINIO_ROOT_USER="$KITE_MINIO_ACCESS_KEY" MINIO_ROOT_PASSWORD="$KITE_MINIO_SECRET_KEY" \
			MINIO_BROWSER=off MINIO_CI_CD=1 MINIO_UPDATE=off \
			setsid "$MINIO" server "$data" --address "127.0.0.1:$port" --quiet \
			</dev/null >"$TMP/$name.log" 2>&1 &
		;;
	versitygw)
		# Its default port listens on all interfaces: always pass the host.
		ROOT_ACCESS_KEY="$KITE_VERSITYGW_ACCESS_KEY" ROOT_SECRET_KEY="$KITE_VERSITYGW_SECRET_KEY" \
			setsid "$VERSITYGW" --port "127.0.0.1:$port" --health /health --quiet posix "$data" \
			</dev/null >"$TMP/$name.log" 2>&1 &
		;;
	fake-gcs)
		# Without -public-host, object reads through the XML path
		# (http://HOST/BUCKET/OBJECT, what storage.Reader uses) and
		# signed URLs 404: it is matched against the Host header, and
		# without a port here any 127.0.0.1:PORT matches (a proxy on
		# another port too). -data: load nothing from the default /data.
		setsid "$FAKE_GCS" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
			-public-host 127.0.0.1 -external-url "http://127.0.0.1:$port" \
			-log-level warn -data "$data" \
			</dev/null >"$TMP/$name.log" 2>&1 &
		;;
	*) die "unknown server $name" ;;
	esac
	PIDS[$name]=$!
}

health_path() {
	case $1 in
	minio) echo /minio/health/ready ;;
	versitygw) echo /health ;;
	fake-gcs) echo /_internal/healthcheck ;;
	esac
}

# wait_ready NAME PORT: 0 once the health URL answers 200, 1 if the server
# exits, or the timeout passes, first.
wait_ready() {
	local name=$1 port=$2 pid=${PIDS[$1]} url start
	url="http://127.0.0.1:$port$(health_path "$name")"
	start=$(now_ms)
	while ! curl --noproxy '*' -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
			unset 'PIDS[$name]'
			log "$name exited before it was ready"
			return 1
		fi
		if (($(now_ms) - start > TIMEOUT * 1000)); then
			log "$name not ready at $url after ${TIMEOUT}s"
			return 1
		fi
		sleep 0.05
	done
	log "$name ready on 127.0.0.1:$port in $(secs_since "$start")"
}

# start_all: launch the three servers at once, then wait for each; a server
# that lost its port to someone else is relaunched on another one.
start_all() {
	local -A port=()
	local name attempt
	for name in minio versitygw fake-gcs; do
		free_port
		port[$name]=$PORT
		launch "$name" "${port[$name]}"
	done
	for name in minio versitygw fake-gcs; do
		for attempt in 1 2 3; do
			wait_ready "$name" "${port[$name]}" && break
			if ((attempt < 3)) && [[ -z ${PIDS[$name]:-} ]] &&
				grep -qi 'already in use' "$TMP/$name.log"; then
				log "$name: port ${port[$name]} taken, retrying on another"
				free_port
				port[$name]=$PORT
				launch "$name" "${port[$name]}"
				continue
			fi
			log "last lines of $name's log:"
			tail -n 30 "$TMP/$name.log" | sed 's/^/    /' >&2
			if [[ $name == versitygw ]] && grep -qiE 'xattr|not supported' "$TMP/$name.log"; then
				log "versitygw's posix backend needs user xattrs in $TMP: set KITE_SERVERS_TMPDIR to a filesystem that has them"
			fi
			die "$name did not start"
		done
	done
	export KITE_MINIO_ENDPOINT="127.0.0.1:${port[minio]}"
	export KITE_VERSITYGW_ENDPOINT="127.0.0.1:${port[versitygw]}"
	export KITE_GCS_ENDPOINT="127.0.0.1:${port[fake-gcs]}"
}

# ---------------------------------------------------------------- main

(($# > 0)) || die "usage: $0 COMMAND [ARG...]"
for tool in curl setsid "$GO"; do
	command -v "$tool" >/dev/null || die "needs $tool on PATH"
done
# Without job control a background job is not a process-group leader, so
# setsid below makes each job its own group without forking ($! stays right).
set +m

build_all
# Tests that run servers of their own (a MinIO cluster, a crash test) use
# these binaries.
export KITE_MINIO_BIN="$MINIO" KITE_VERSITYGW_BIN="$VERSITYGW"

TMP=$(mktemp -d "${KITE_SERVERS_TMPDIR:-${TMPDIR:-/tmp}}/kite-servers.XXXXXX")
# Fresh throwaway credentials each run (MinIO wants >= 3 and >= 8 characters).
export KITE_MINIO_ACCESS_KEY="kite$(rand_hex 6)" KITE_MINIO_SECRET_KEY="$(rand_hex 16)"
export KITE_VERSITYGW_ACCESS_KEY="kite$(rand_hex 6)" KITE_VERSITYGW_SECRET_KEY="$(rand_hex 16)"

start=$(now_ms)
start_all
log "all servers ready in $(secs_since "$start")"

# The command runs in the background in its own process group, so that
# `wait` returns as soon as a signal arrives (a foreground child would delay
# the trap until it exits) and cleanup can stop it with its test binaries.
# Its stdin is kept (a background job would otherwise read /dev/null).
setsid "$@" <&0 &
CHILD=$!
rc=0
wait "$CHILD" || rc=$?
# CHILD stays set: cleanup also stops anything the command left in its group.
exit "$rc"
