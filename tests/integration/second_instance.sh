#!/bin/bash
# The shim must not let a second live instance share a port: while
# instance A (under the shim) listens on port P and has left TIME_WAIT
# entries there, instance B on P (under LD_PRELOAD, then under the
# wrapper) must fail with "Address already in use" (its retried bind must
# fail too), and A must go on serving clients afterwards.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

N=3

# serve WHAT PORT: N clients on HOST:PORT must each get a whole reply.
serve() {
	local what=$1 port=$2 out
	out=$(clients "$port" "$N" --host "$HOST" --expect eof) ||
		fail "$what: clients failed: ${out//$'\n'/ }"
	[ "$(echo "$out" | grep -c '^ok ')" = "$N" ] ||
		fail "$what: expected $N replies, got: ${out//$'\n'/ }"
}

# case_run LABEL SERVER...: A under LD_PRELOAD, then B twice.
case_run() {
	local label=$1 a_pid a_port a_err b_mode
	shift

	start A env LD_PRELOAD="$SHIM_PRELOAD" "$@" -p 0
	wait_ready || fail "$label: A did not start (exit $SRV_STATUS): $(cat "$SRV_ERR")"
	a_pid=$SRV_PID a_port=$SRV_PORT a_err=$SRV_ERR
	serve "$label: A before B" "$a_port"
	wait_tw "$a_port" "$N" ||
		fail "$label: A left $(tw_count "$a_port") TIME_WAIT entries after $N connections"

	for b_mode in preload wrapper; do
		case $b_mode in
		preload) start B env LD_PRELOAD="$SHIM_PRELOAD" "$@" -p "$a_port" ;;
		wrapper) start B "$REBIND_BIN" -- "$@" -p "$a_port" ;;
		esac
		if wait_ready; then
			stop
			fail "$label: B ($b_mode) started on port $a_port while A listens there"
		fi
		[ "$SRV_STATUS" = 2 ] && grep -q 'Address already in use' "$SRV_ERR" ||
			fail "$label: B ($b_mode) should fail with 'Address already in use' (exit 2), got exit $SRV_STATUS: $(cat "$SRV_ERR")"
		kill -0 "$a_pid" 2>/dev/null || fail "$label: A is gone after B ($b_mode) ran: $(cat "$a_err")"
		serve "$label: A after B ($b_mode)" "$a_port"
		note "$label: B ($b_mode) refused: $(grep 'in use' "$SRV_ERR"); A still serves"
	done

	SRV_PID=$a_pid
	stop
}

HOST=127.0.0.1
case_run "IPv4" "$LEGACY_SERVER" -a "$HOST"
case_run "IPv4 --nonblock" "$LEGACY_SERVER" -a "$HOST" --nonblock
if have_ipv6; then
	HOST=::1
	case_run "IPv6" "$LEGACY_SERVER" -a "$HOST"
else
	note "NOT TESTED: IPv6 (::1 cannot be bound on this host); IPv4 passed"
fi
exit 0
