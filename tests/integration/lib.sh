# Shared by the integration tests (bash): sourced, never run.
#
# The harness (Makefile.am) exports LIBREBIND (the built librebind.so),
# REBIND_BIN (the wrapper), LEGACY_SERVER, PYTHON3 and srcdir.
# Automake exit codes: 0 pass, 1 fail, 77 skip, 99 the test cannot tell.

set -u

: "${LIBREBIND:?set by make check}" "${REBIND_BIN:?}" "${LEGACY_SERVER:?}"
: "${PYTHON3:=python3}" "${srcdir:=.}"
CLIENT="$srcdir/tests/integration/client.py"
TCPSTATE="$srcdir/tests/integration/tcpstate.py"

# What to put in LD_PRELOAD: in a sanitizer build (./configure
# --enable-sanitizers) the ASan runtime must come first.
SHIM_PRELOAD="${SANITIZER_RUNTIME:+$SANITIZER_RUNTIME:}$LIBREBIND"

# Variables a developer's shell may carry would change what we measure.
unset LD_PRELOAD REBIND_REUSEADDR REBIND_LINGER REBIND_PORTS REBIND_LOG

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rebind-test.XXXXXX")
PIDS=""
RUN_N=0

# kill_job PID: SIGTERM to the process group PID leads, else to PID
# alone.  start() runs servers under GNU timeout(1), which makes its own
# group.  Signalled alone, timeout sometimes ended without passing the
# signal on (servers were left running, seen here on one busy CPU; a
# signal between its fork() and its note of the child's pid does that),
# so the server gets it straight from the group kill.
kill_job() {
	kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null
}

cleanup() {
	for p in $PIDS; do
		kill_job "$p"
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
hard_error() { echo "ERROR: $*" >&2; exit 99; }
note() { echo "# $*" >&2; }

# free_port: a TCP port no socket on this host uses now, chosen below
# the kernel's ephemeral range: the kernel never hands such a port to a
# connect() or a bind() to port 0, so the tests running alongside cannot
# take it while a test stops a server and starts another on it.  Prints
# 0 (the kernel's choice) when the range leaves no room below it.
free_port() {
	local lo port i=0
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
		lo=0
	if [ "$lo" -lt 12000 ]; then
		echo 0
		return
	fi
	while [ $i -lt 100 ]; do
		port=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
		if [ -z "$("$PYTHON3" "$TCPSTATE" "$port")" ]; then
			echo "$port"
			return
		fi
		i=$((i + 1))
	done
	hard_error "no free port between 10000 and $lo"
}

have_ipv6() {
	"$PYTHON3" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

# start NAME CMD...: run CMD in the background (bounded by timeout),
# stdout in $TMP/NAME.out, stderr in $TMP/NAME.err.  Sets SRV_PID.
# RB_WRAP, when set (make check-valgrind sets it to a valgrind command
# line), goes in front of CMD; it is split on blanks, never globbed.
start() {
	local name=$1 wrap=()
	shift
	[ -z "${RB_WRAP:-}" ] || read -ra wrap <<<"$RB_WRAP"
	RUN_N=$((RUN_N + 1))
	SRV_OUT="$TMP/$name.$RUN_N.out"
	SRV_ERR="$TMP/$name.$RUN_N.err"
	: >"$SRV_OUT"
	timeout 30 ${wrap[@]+"${wrap[@]}"} "$@" >"$SRV_OUT" 2>"$SRV_ERR" &
	SRV_PID=$!
	PIDS="$PIDS $SRV_PID"
}

# wait_ready: poll for "ready PORT" (sets SRV_PORT) or for the server's
# exit (returns 1, its status in SRV_STATUS).  At most 10 s.
wait_ready() {
	local i=0
	while [ $i -lt 500 ]; do
		SRV_PORT=$(sed -n 's/^ready \([0-9][0-9]*\)$/\1/p' "$SRV_OUT")
		[ -n "$SRV_PORT" ] && return 0
		if ! kill -0 "$SRV_PID" 2>/dev/null; then
			wait "$SRV_PID"
			SRV_STATUS=$?
			return 1
		fi
		sleep 0.02
		i=$((i + 1))
	done
	hard_error "server did not start within 10 s: $(cat "$SRV_ERR")"
}

# outcome WHAT [ON_OTHER]: what became of the server started last.  Sets
# OUTCOME to "starts" (it listened; it is stopped again) or "in use" (it
# exited 2 with "Address already in use", musl's "Address in use").  Any
# other end is reported,
# with WHAT, by ON_OTHER: fail, or hard_error where a control ended so.
outcome() {
	if wait_ready; then
		stop
		OUTCOME=starts
	elif [ "$SRV_STATUS" = 2 ] &&
		grep -qE 'Address (already )?in use' "$SRV_ERR"; then
		OUTCOME="in use"
	else
		"${2:-fail}" "$1: exit $SRV_STATUS: $(cat "$SRV_ERR")"
	fi
}

# stop: end the server started last and reap it.
stop() {
	local i=0
	kill_job "$SRV_PID"
	wait "$SRV_PID" 2>/dev/null
	# The server itself may outlive timeout(1) by a moment (kill_job).
	while group_alive "$SRV_PID" && [ $i -lt 100 ]; do
		sleep 0.02
		i=$((i + 1))
	done
	return 0
}

# group_alive PGID: a process of group PGID runs (zombies do not count:
# an orphan's zombie may never be reaped in a container).
group_alive() {
	kill -0 -- "-$1" 2>/dev/null || return 1
	awk -v g="$1" '{ sub(/^.*\) /, "") } $3 == g && $1 != "Z" { found = 1 }
		END { exit !found }' /proc/[0-9]*/stat 2>/dev/null
}

# tcp_count PORT STATE [ADDR]: TCP sockets whose local port is PORT (and
# local address ADDR) in STATE, as tcpstate.py reads them.
tcp_count() {
	"$PYTHON3" "$TCPSTATE" "$1" --state "$2" ${3:+--local "$3"}
}

# wait_tcp_count PORT STATE N: poll until at least N (at most 2 s).
wait_tcp_count() {
	local i=0
	while [ $i -lt 100 ]; do
		[ "$(tcp_count "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.02
		i=$((i + 1))
	done
	return 1
}

# tw_count PORT: TIME_WAIT entries whose local port is PORT.
tw_count() { tcp_count "$1" TIME_WAIT; }

# wait_tw PORT N: poll until at least N TIME_WAIT entries are on PORT.
wait_tw() { wait_tcp_count "$1" TIME_WAIT "$2"; }

# no_tw PORT WHAT: no TIME_WAIT entry on PORT, in 25 looks over at least
# 0.5 s.
no_tw() {
	local i=0 tw
	while [ $i -lt 25 ]; do
		tw=$(tw_count "$1")
		[ "$tw" -eq 0 ] || fail "$2: $tw TIME_WAIT entries on port $1"
		sleep 0.02
		i=$((i + 1))
	done
}

# child_of PID: the pid of PID's only child (a server under timeout),
# from /proc (ps may not be installed).
child_of() {
	local i=0 c
	while [ $i -lt 100 ]; do
		c=$(awk -v p="$1" '{ pid = $1; sub(/^.*\) /, "") }
			$2 == p { print pid; exit }' /proc/[0-9]*/stat 2>/dev/null)
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.02
		i=$((i + 1))
	done
	return 1
}

# clients PORT N [client.py options]: N connections, each read to EOF.
clients() {
	local port=$1 n=$2
	shift 2
	timeout 60 "$PYTHON3" "$CLIENT" --port "$port" --count "$n" "$@"
}

# report_ok WANT N [WHAT]: the listener and exactly N connections reported
# WANT ("reuseaddr=R linger=ON,SECS", from legacy-server --report).  WHAT
# begins the messages.
report_ok() {
	local want=$1 n=$2 w=${3:+$3: } conns good
	grep -qx "listener $want" "$SRV_OUT" ||
		fail "${w}listener: want '$want', got: $(grep '^listener' "$SRV_OUT")"
	conns=$(grep -c '^conn ' "$SRV_OUT")
	good=$(grep -cx "conn [0-9]* $want" "$SRV_OUT")
	[ "$conns" -eq "$n" ] && [ "$good" -eq "$n" ] ||
		fail "${w}want $n connections with '$want', got:
$(grep '^conn ' "$SRV_OUT" | sort -k3 | uniq -c -f2)"
}

# control_leaves_tw N BYTES: without rebind, legacy-server replies BYTES
# to N clients and closes first; each connection must leave a TIME_WAIT
# entry that this host's socket table shows, or the test cannot tell (99).
control_leaves_tw() {
	start control "$LEGACY_SERVER" -p 0 -n "$1" -r "$2" -q
	wait_ready || hard_error "control server failed: $(cat "$SRV_ERR")"
	clients "$SRV_PORT" "$1" --bytes "$2" --expect eof >/dev/null ||
		hard_error "control clients failed"
	server_done
	wait_tw "$SRV_PORT" "$1" ||
		hard_error "control: want $1 TIME_WAIT entries, found $(tw_count "$SRV_PORT")"
}

# server_done [WHAT]: the server started last exits 0 after its -n
# connections, and rebind said nothing at the default log level.  WHAT
# begins the messages.
# shellcheck disable=SC2120 # WHAT is optional
server_done() {
	local w=${1:+$1: } st
	wait "$SRV_PID"
	st=$?
	[ $st -eq 0 ] || fail "${w}server exited $st: $(cat "$SRV_ERR")"
	if grep -q '^rebind\[' "$SRV_ERR"; then
		fail "${w}rebind printed at the default log level: $(cat "$SRV_ERR")"
	fi
}

# run_probe WHAT OK CMD...: run CMD, a probe that prints "ok OK ..." when
# all went well, bounded by timeout; its stdout in $TMP/WHAT.out, stderr
# in $TMP/WHAT.err, its "ok" line noted.  Returns 1, saying why, unless
# CMD exited 0 with that line, no FAIL line and nothing from rebind.
run_probe() {
	local what=$1 ok=$2 out="$TMP/$1.out" err="$TMP/$1.err" st
	shift 2
	timeout 30 "$@" >"$out" 2>"$err"
	st=$?
	note "$what: $(grep "^ok $ok" "$out")"
	if [ $st -eq 124 ]; then
		echo "$what: no end within 30 s (deadlock?): $(cat "$out")" >&2
	elif [ $st -ge 128 ]; then
		echo "$what: killed by signal $((st - 128)):" \
			"$(cat "$out" "$err")" >&2
	elif [ $st -ne 0 ] || grep -q '^FAIL' "$out" ||
		! grep -q "^ok $ok" "$out"; then
		echo "$what: exit $st: $(cat "$out" "$err")" >&2
	elif grep -q '^rebind\[' "$err"; then
		echo "$what: rebind printed at the default log level:" \
			"$(cat "$err")" >&2
	else
		return 0
	fi
	return 1
}

# A Python program that listens once on a free loopback port and prints
# "ran": the library reads its config, and reports a bad one, only when
# a socket first needs it.
LISTEN_ONCE_PY='import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print("ran")'
