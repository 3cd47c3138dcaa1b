#!/bin/bash
# rebind status PORT: its verdict must match what a restart really does.
# The bundled legacy-server (no SO_REUSEADDR of its own) runs without and
# under rebind, then leaves TIME_WAIT entries on its port or none; in all
# four cases the verdict (text, --json, exit status) is checked against
# an actual restart on that port.  While it listens, status must name the
# process, see whether librebind is loaded, and predict the restart.
# Socket state comes from tcpstate.py (its own sock_diag dump), not ss.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99
# The subject is the CLI: a valgrind wrapper around the servers
# (make check-valgrind) would change the name and pid status must show.
unset RB_WRAP

N=3

# srv MODE NAME PORT [legacy-server options]: start the server on HOST.
srv() {
	local mode=$1 name=$2 port=$3
	shift 3
	case $mode in
	plain) start "$name" "$LEGACY_SERVER" -a "$HOST" -p "$port" "$@" ;;
	rebind) start "$name" "$REBIND_BIN" -- "$LEGACY_SERVER" -a "$HOST" -p "$port" "$@" ;;
	abort) start "$name" "$REBIND_BIN" --linger=abort -- "$LEGACY_SERVER" -a "$HOST" -p "$port" "$@" ;;
	*) hard_error "bad mode $mode" ;;
	esac
}

# expect_restart MODE PORT WANT WHAT: WANT is "starts" or "in use".
expect_restart() {
	srv "$1" "again-$1" "$2"
	outcome "$4: restart ($1)"
	[ "$OUTCOME" = "$3" ] || fail "$4: status said so, but a restart ($1) on port $2: $OUTCOME"
	note "$4: restart ($1) on port $2: $OUTCOME, as status said"
}

# jget EXPR: EXPR (Python, over p = the first port object) from $JSON.
jget() {
	"$PYTHON3" -c 'import json, sys
p = json.loads(sys.argv[2])["ports"][0]
print(eval(sys.argv[1]))' "$1" "$JSON"
}

# status PORT RC ANSWER WHAT: rebind status PORT and --json PORT both exit
# RC, the text says "restart: ANSWER", the JSON parses and agrees.
# Sets OUT (text) and JSON.
status() {
	local port=$1 rc=$2 answer=$3 what=$4 got
	OUT=$("$REBIND_BIN" status "$port" 2>&1)
	got=$?
	[ "$got" = "$rc" ] || fail "$what: status exit $got, expected $rc: $OUT"
	grep -q "^  restart: $answer" <<<"$OUT" ||
		fail "$what: expected 'restart: $answer': $OUT"
	JSON=$("$REBIND_BIN" status --json "$port" 2>&1)
	got=$?
	[ "$got" = "$rc" ] || fail "$what: status --json exit $got, expected $rc: $JSON"
	"$PYTHON3" -m json.tool <<<"$JSON" >/dev/null ||
		fail "$what: status --json is not JSON: $JSON"
	[ "$(jget 'p["port"], p["restart"]')" = "($port, '${answer%%[:,]*}')" ] ||
		fail "$what: JSON disagrees: $JSON"
	note "$what: $(grep '^  restart:' <<<"$OUT" | cut -c3-70)..."
}

# serve PORT: N clients, each must get a whole reply.
serve() {
	local out
	out=$(clients "$1" "$N" --host "$HOST") || fail "clients on port $1 failed: ${out//$'\n'/ }"
}

# listening MODE WHAT: while it listens, status names it and predicts.
listening() {
	local mode=$1 what=$2 pid loaded reuse rc answer
	pid=$(child_of "$SRV_PID")
	[ -n "$pid" ] || hard_error "$what: no server process under $SRV_PID"
	case $mode in
	plain) loaded="rebind not loaded" reuse=off rc=1 answer=no ;;
	*) loaded="rebind loaded" reuse=on rc=0 answer=yes ;;
	esac
	status "$P" "$rc" "$answer" "$what, listening"
	grep -q "^  listening: $HOST_TEXT:$P, uid $(id -u), pid $pid (legacy-server, $loaded), SO_REUSEADDR $reuse\$" <<<"$OUT" ||
		fail "$what: expected pid $pid, $loaded, SO_REUSEADDR $reuse: $OUT"
	[ "$(jget 'p["listening"][0]["processes"][0]["pid"], p["listening"][0]["processes"][0]["rebind"], p["listening"][0]["reuseaddr"]')" = \
		"($pid, $([ $rc = 0 ] && echo True || echo False), $([ $rc = 0 ] && echo True || echo False))" ] ||
		fail "$what: JSON listener: $JSON"
}

# with_tw MODE WHAT: the server serves N clients and stops, leaving N
# TIME_WAIT entries; status must say whether a restart binds; a restart
# then shows it was right.
with_tw() {
	local mode=$1 what="$1, TIME_WAIT present, $HOST"
	srv "$mode" "$mode" "$(free_port)"
	wait_ready || fail "$what: did not start: $(cat "$SRV_ERR")"
	P=$SRV_PORT
	listening "$mode" "$what"
	serve "$P"
	wait_tcp_count "$P" TIME_WAIT "$N" || hard_error "$what: no TIME_WAIT entries on port $P"
	stop
	if [ "$mode" = plain ]; then
		status "$P" 1 "no: TIME_WAIT entries without SO_REUSEADDR" "$what"
		[ "$(jget 'p["time_wait"]["count"] >= '"$N"', p["listening"]')" = "(True, [])" ] ||
			fail "$what: JSON: $JSON"
		expect_restart rebind "$P" "in use" "$what"
		expect_restart plain "$P" "in use" "$what"
	else
		status "$P" 0 "yes: the $N TIME_WAIT entries carry SO_REUSEADDR" "$what"
		# The entries carry the flag; a start without rebind still fails.
		expect_restart plain "$P" "in use" "$what"
		expect_restart rebind "$P" starts "$what"
	fi
	PORTS="$PORTS $P"
}

# without_tw MODE WHAT: the server stops leaving no TIME_WAIT entry (no
# clients; under --linger=abort, clients that get reset).
without_tw() {
	local mode=$1 what="$1, TIME_WAIT absent, $HOST"
	srv "$mode" "$mode" "$(free_port)"
	wait_ready || fail "$what: did not start: $(cat "$SRV_ERR")"
	P=$SRV_PORT
	[ "$mode" = abort ] && { clients "$P" "$N" --host "$HOST" >/dev/null || fail "$what: clients failed"; }
	stop
	[ "$(tcp_count "$P" TIME_WAIT)" = 0 ] || hard_error "$what: $(tcp_count "$P" TIME_WAIT) TIME_WAIT entries on port $P"
	status "$P" 0 "yes: nothing holds the port" "$what"
	expect_restart rebind "$P" starts "$what"
	expect_restart plain "$P" starts "$what"
}

# --- usage errors: exit 2, one line ---
for args in "" "0" "65536" "http" "--json" "--bogus 80" "80-90"; do
	# shellcheck disable=SC2086
	out=$("$REBIND_BIN" status $args 2>&1)
	rc=$?
	[ "$rc" = 2 ] || fail "status $args: exit $rc, expected 2: $out"
	[ "$(wc -l <<<"$out")" = 1 ] && [[ $out == "rebind: "* ]] ||
		fail "status $args: expected one 'rebind: ' line: $out"
done

run_host() {
	HOST=$1 HOST_TEXT=$2 PORTS=""
	with_tw plain
	with_tw rebind
	without_tw plain
	without_tw abort
}

run_host 127.0.0.1 127.0.0.1
# Several ports at once: one JSON object, exit 1 since one says no.
set -- $PORTS
JSON=$("$REBIND_BIN" status --json "$@")
rc=$?
[ "$rc" = 1 ] || fail "status of $# ports: exit $rc, expected 1 (port $1 says no)"
[ "$("$PYTHON3" -c 'import json, sys
print([p["restart"] for p in json.loads(sys.argv[1])["ports"]])' "$JSON")" = "['no', 'yes']" ] ||
	fail "status of ports $*: $JSON"

# Loaded but off for this port: the listener's own SO_REUSEADDR decides.
HOST=127.0.0.1
start offport "$REBIND_BIN" --ports=1 -- "$LEGACY_SERVER" -a "$HOST" -p 0
wait_ready || fail "rebind --ports=1: did not start: $(cat "$SRV_ERR")"
P=$SRV_PORT
status "$P" 1 "no: legacy-server (pid $(child_of "$SRV_PID")) listens without SO_REUSEADDR although rebind is loaded" "rebind --ports=1"
serve "$P"
wait_tcp_count "$P" TIME_WAIT "$N" || hard_error "rebind --ports=1: no TIME_WAIT entries on port $P"
stop
expect_restart rebind "$P" "in use" "rebind --ports=1"

if have_ipv6; then
	run_host ::1 '\[::1\]'
else
	note "NOT TESTED: IPv6 (::1 cannot be bound on this host); IPv4 passed"
fi

# Another user cannot see root's processes: status must say so, not guess.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$REBIND_BIN"; then
	HOST=127.0.0.1
	srv plain hidden 0
	wait_ready || fail "hidden: did not start: $(cat "$SRV_ERR")"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$REBIND_BIN" status "$SRV_PORT" 2>&1)
	rc=$?
	[ "$rc" = 1 ] || fail "status as nobody: exit $rc, expected 1: $out"
	grep -q "process unknown (needs root)" <<<"$out" && grep -q "^  restart: unknown" <<<"$out" ||
		fail "status as nobody on root's server: $out"
	stop
	note "as nobody: $(grep '^  restart:' <<<"$out" | cut -c3-)"
else
	note "NOT TESTED: status as another user (needs root and setpriv)"
fi
exit 0
