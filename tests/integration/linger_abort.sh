#!/bin/bash
# REBIND_LINGER=abort: linger {1,0} on the listener, inherited by every
# accepted connection.  A short reply still reaches the client (a reset
# after it is allowed) and the server's port keeps no TIME_WAIT entry.
# A control run without rebind shows N entries, so "0" means something.

. "$srcdir/tests/integration/lib.sh"

N=20
REPLY=1000

# Control: the same exchange without rebind leaves N entries, so this
# host's socket table shows this server's TIME_WAIT.
control_leaves_tw "$N" "$REPLY"

for mode in "" --nonblock; do
	start abort env LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=abort \
		"$LEGACY_SERVER" -p 0 -n $N -r $REPLY --report -q $mode
	wait_ready || fail "server under rebind failed: $(cat "$SRV_ERR")"
	port=$SRV_PORT
	clients "$port" $N --bytes $REPLY --expect any >"$TMP/clients.out" ||
		fail "${mode:-blocking}: clients did not get $REPLY bytes each:
$(sort "$TMP/clients.out" | uniq -c)"
	server_done
	report_ok "reuseaddr=1 linger=1,0" $N
	no_tw "$port" "${mode:-blocking}"
done
exit 0
