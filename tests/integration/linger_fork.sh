#!/bin/bash
# A fork-per-connection server: the parent closes its copy of each
# connection at once, the child writes the reply and calls _exit(0)
# without close().  Neither may reset the connection: a slow client must
# get a reply of a MiB complete, with a clean EOF, under safe-abort
# and under the default policy.  Under abort (the control) the exit with
# linger {1,0} and unsent data does reset it: that shows what the
# slow-client check detects.

. "$srcdir/tests/integration/lib.sh"

BIG=$((1024 * 1024))
N=20

# big NAME [VAR=VALUE...]: a forking server under rebind with the given
# policy, and a slow client reading its reply in the background.  Sets
# pid_NAME (server), client_NAME (client), err_NAME.
big() {
	local name=$1
	shift
	start "$name" env LD_PRELOAD="$SHIM_PRELOAD" "$@" \
		"$LEGACY_SERVER" -p 0 -n 1 -r $BIG --fork -q
	wait_ready || fail "$name: server failed: $(cat "$SRV_ERR")"
	eval "pid_$name=\$SRV_PID err_$name=\$SRV_ERR"
	clients "$SRV_PORT" 1 --slow --bytes $BIG --expect eof \
		>"$TMP/$name.client" &
	eval "client_$name=\$!"
	PIDS="$PIDS $!"
}

# All three at once: each takes a few seconds of slow reading.
big safe REBIND_LINGER=safe-abort
big default
big abort REBIND_LINGER=abort

for name in safe default; do
	eval "cpid=\$client_$name SRV_PID=\$pid_$name SRV_ERR=\$err_$name"
	wait "$cpid" ||
		fail "$name: slow client wants 'ok $BIG eof', got:" \
			"$(cat "$TMP/$name.client")"
	server_done
done

# Under abort the exit resets instead of sending a FIN: no clean EOF.
eval "cpid=\$client_abort"
if wait "$cpid"; then
	hard_error "control: under abort the slow client got everything and" \
		"a clean EOF too: $(cat "$TMP/abort.client")"
fi
note "control: under abort the slow client got" \
	"$(cat "$TMP/abort.client") (reset, as expected)"

# Small replies: the connection is shared across the fork, so every
# close is ordinary and every connection keeps its TIME_WAIT (safe-abort
# resets only sockets that were never shared).  The clients must still
# see a clean EOF.
start fork env LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort \
	"$LEGACY_SERVER" -p 0 -n $N -r 300 --fork -q
wait_ready || fail "forking server failed: $(cat "$SRV_ERR")"
port=$SRV_PORT
clients "$port" $N --bytes 300 --expect eof >"$TMP/small.out" ||
	fail "forking server: clients: $(sort "$TMP/small.out" | uniq -c)"
server_done
wait_tw "$port" $N ||
	fail "forking server under safe-abort: want $N TIME_WAIT entries" \
		"(ordinary closes), found $(tw_count "$port")"
exit 0
