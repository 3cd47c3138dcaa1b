#!/bin/bash
# REBIND_LINGER=abort: linger {1,0} on the listener, inherited by every
# accepted connection.  A short reply still reaches the client (a reset
# after it is allowed) and the server's port keeps no TIME_WAIT entry.
# A control run without rebind shows N entries, so "0" means something.

. "$srcdir/tests/integration/lib.sh"
need_ss

N=20
REPLY=1000

# no_tw PORT: no TIME_WAIT entry on PORT, now or in the next 0.5 s.
no_tw() {
	local i=0 tw
	while [ $i -lt 25 ]; do
		tw=$(tw_count "$1")
		[ "$tw" -eq 0 ] || fail "ss shows $tw TIME_WAIT entries on port $1:
$("$SS" -Htan state time-wait "( sport = :$1 )" | head -5)"
		sleep 0.02
		i=$((i + 1))
	done
}

# Control: the same exchange without rebind leaves N entries, so ss sees
# this server's TIME_WAIT on this host.
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
	no_tw "$port"
done
exit 0
