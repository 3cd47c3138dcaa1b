#!/bin/bash
# Default policy: rebind sets SO_REUSEADDR and leaves linger alone, so
# every connection the server closes first leaves a TIME_WAIT entry on
# its port, as without rebind.

. "$srcdir/tests/integration/lib.sh"

N=20

# Control: without rebind the program leaves SO_REUSEADDR at 0, so the
# 1 below is rebind's doing.
start plain "$LEGACY_SERVER" -p 0 -n 1 --report -q
wait_ready || hard_error "control server failed: $(cat "$SRV_ERR")"
clients "$SRV_PORT" 1 --expect eof >/dev/null ||
	hard_error "control client failed"
server_done
grep -qx 'listener reuseaddr=0 linger=0,0' "$SRV_OUT" ||
	hard_error "without rebind: $(cat "$SRV_OUT")"

start shim env LD_PRELOAD="$SHIM_PRELOAD" "$LEGACY_SERVER" -p 0 -n $N \
	--report -q
wait_ready || fail "server under rebind failed: $(cat "$SRV_ERR")"
port=$SRV_PORT
clients "$port" $N --expect eof >"$TMP/clients.out" ||
	fail "clients: $(sort "$TMP/clients.out" | uniq -c)"
server_done
report_ok "reuseaddr=1 linger=0,0" $N

wait_tw "$port" $N || fail "want $N TIME_WAIT entries, found $(tw_count "$port")"
tw=$(tw_count "$port")
[ "$tw" -eq $N ] || fail "want exactly $N TIME_WAIT entries, found $tw"
exit 0
