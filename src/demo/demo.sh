#!/bin/sh
# rebind demo: a daemon that closes its connections first leaves TIME_WAIT
# entries on its port, and a restart then fails with "Address already in
# use".  Run by "make demo" as:
#   REBIND=/path/rebind LEGACY_SERVER=/path/legacy-server sh demo.sh
# Exit status: 0 when the restart fails without rebind and works twice with
# it, 1 otherwise.

set -u

: "${REBIND:?set REBIND to the rebind wrapper}"
: "${LEGACY_SERVER:?set LEGACY_SERVER to the legacy-server program}"

# Polls are 20 ms apart; this bounds every wait at 5 s.
POLLS=250

pids=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rebind-demo.XXXXXX") || exit 1

cleanup() {
	# Only pids we started and have not reaped: a reaped pid may
	# already belong to someone else.
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

forget_pid() {
	rest=
	for p in $pids; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	pids=$rest
}

find_ss() {
	for c in "$(command -v ss)" /usr/sbin/ss /sbin/ss; do
		if [ -n "$c" ] && [ -x "$c" ]; then
			SS=$c
			return 0
		fi
	done
	SS=
}

# start_server TAG PORT [PREFIX...]: run legacy-server in the background
# and wait until it prints "ready PORT" (return 0) or exits (return 1,
# with its exit status in srv_rc and its stderr in $tmp/TAG.err).
start_server() {
	tag=$1 want=$2
	shift 2
	"$@" "$LEGACY_SERVER" -q -p "$want" >"$tmp/$tag.out" \
		2>"$tmp/$tag.err" &
	srv_pid=$!
	pids="$pids $srv_pid"
	i=0
	while [ "$i" -lt "$POLLS" ]; do
		srv_port=$(sed -n 's/^ready \([0-9][0-9]*\)$/\1/p' \
			"$tmp/$tag.out")
		if [ -n "$srv_port" ]; then
			srv_rc=0
			return 0
		fi
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.02
		i=$((i + 1))
	done
	[ "$i" -lt "$POLLS" ] || die "legacy-server printed no ready line"
	wait "$srv_pid"
	srv_rc=$?
	forget_pid "$srv_pid"
	return 1
}

# first_start TAG [PREFIX...]: the first instance, on a port the kernel picks.
first_start() {
	tag=$1
	shift
	start_server "$tag" 0 "$@" && return 0
	die "could not start$(printf ' %s' "$@" "$LEGACY_SERVER")" \
		"(exit status $srv_rc): $(cat "$tmp/$tag.err")"
}

stop_server() {
	kill "$srv_pid" || die "cannot stop pid $srv_pid"
	# dash reports a job killed by a signal ("Terminated"); expected here.
	wait "$srv_pid" 2>/dev/null
	forget_pid "$srv_pid"
	[ -z "$SS" ] && return 0
	# If the wrapper forked instead of exec'ing, the server outlives it.
	if [ -n "$($SS -Htln "( sport = :$srv_port )")" ]; then
		die "port $srv_port still listening after pid $srv_pid exited"
	fi
}

# A client that sends a line and reads the reply to EOF: the server
# closes first, so the TIME_WAIT entry is the server's.
run_clients() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys

port, count = int(sys.argv[1]), int(sys.argv[2])
for _ in range(count):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"hello\n")
        while s.recv(4096):
            pass
EOF
}

# show_time_wait PORT AT_LEAST: the count appears once the clients'
# FINs arrive, so poll for it.
show_time_wait() {
	if [ -z "$SS" ]; then
		echo "  (ss not found: cannot count TIME_WAIT entries)"
		return 0
	fi
	i=0
	while [ "$i" -lt "$POLLS" ]; do
		n=$($SS -Htan state time-wait "( sport = :$1 )" | wc -l)
		[ "$n" -ge "$2" ] && break
		sleep 0.02
		i=$((i + 1))
	done
	echo "  TIME_WAIT entries on port $1: $n"
}

# serve TIME_WAIT_EXPECTED: three clients, then the TIME_WAIT count.
serve() {
	run_clients "$srv_port" 3 || die "the client failed on port $srv_port"
	echo "  served 3 clients; the server closed each connection first"
	show_time_wait "$srv_port" "$1"
}

# restart TAG PORT [PREFIX...]: sets restart_line to what happened.
restart() {
	tag=$1
	echo "  stopped it; starting it again on port $2 ..."
	if start_server "$@"; then
		restart_line="restart OK"
		echo "  $restart_line: listening again (pid $srv_pid)"
		return 0
	fi
	restart_line=$(grep '^legacy-server:' "$tmp/$tag.err")
	[ -n "$restart_line" ] || restart_line=$(cat "$tmp/$tag.err")
	echo "  restart FAILED (exit status $srv_rc): $restart_line"
	return 1
}

part1() {
	echo "Part 1: without rebind"
	first_start p1
	port1=$srv_port
	echo "  legacy-server (pid $srv_pid) listens on 127.0.0.1 port $port1"
	serve 3
	stop_server
	control_ok=no
	if restart p1b "$port1"; then
		control_ok=yes
		stop_server
	fi
	control_line=$restart_line
	control_rc=$srv_rc
}

part2() {
	echo "Part 2: with rebind (each instance runs as: rebind -- legacy-server ...)"
	first_start p2 "$REBIND" --
	port2=$srv_port
	echo "  legacy-server (pid $srv_pid) listens on 127.0.0.1 port $port2"
	serve 3
	stop_server
	rebind_ok=0
	for round in 1 2; do
		restart "p2r$round" "$port2" "$REBIND" -- || break
		rebind_ok=$round
		serve $((3 * round + 3))
		stop_server
	done
}

summary() {
	echo "Summary:"
	case $control_line in
	*"Address already in use"*)
		echo "  without rebind: restart FAILED (Address already in use)" ;;
	*) echo "  without rebind: $control_line" ;;
	esac
	if [ "$rebind_ok" -eq 2 ]; then
		echo "  with rebind: restart OK twice"
	else
		echo "  with rebind: $restart_line"
	fi
	echo "  (The instance being stopped must run under rebind too: TIME_WAIT"
	echo "  entries keep the options of the socket they came from, so the"
	echo "  first restart after adopting rebind can still fail.)"
}

verdict() {
	if [ "$control_ok" = yes ]; then
		die "unexpected: the restart without rebind worked, so this" \
			"host does not show the problem (no TIME_WAIT on port $port1?)"
	fi
	case $control_rc:$control_line in
	2:*"Address already in use"*) ;;
	*) die "unexpected: the restart without rebind failed for another" \
		"reason: $control_line" ;;
	esac
	[ "$rebind_ok" -eq 2 ] ||
		die "unexpected: a restart under rebind failed: $restart_line"
	echo "As expected: rebind lets the daemon restart at once."
}

command -v python3 >/dev/null || die "python3 is needed for the demo's client"
find_ss
part1
echo
part2
echo
summary
verdict
