#!/bin/bash
# MPTCP listeners (socket(..., IPPROTO_MPTCP), or TCP switched by
# mptcpize) get what TCP listeners get: a server that closes its MPTCP
# connections first leaves TIME_WAIT entries, and the restart on the
# same port must succeed under rebind.  Control: the same two instances
# without rebind must fail with EADDRINUSE, else 99.  Skipped where the
# kernel has no MPTCP.

. "$srcdir/tests/integration/lib.sh"

N=5

if [ "$(cat /proc/sys/net/mptcp/enabled 2>/dev/null)" != 1 ]; then
	skip "MPTCP is not enabled here (/proc/sys/net/mptcp/enabled)"
fi
"$PYTHON3" -c 'import socket; socket.socket(socket.AF_INET,
	socket.SOCK_STREAM, 262)' 2>"$TMP/mptcp.err" ||
	skip "no MPTCP socket here: $(tail -n 1 "$TMP/mptcp.err")"

# server.py PORT N: an MPTCP listener that never sets SO_REUSEADDR; per
# connection: read a line, reply, close first.  Exit 2 with "Address
# already in use" when the bind fails so.
cat >"$TMP/server.py" <<'PY'
import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError as e:
    print("bind: %s" % e.strerror, file=sys.stderr)
    sys.exit(2 if e.errno == errno.EADDRINUSE else 1)
s.listen(8)
print("ready %d" % s.getsockname()[1], flush=True)
for _ in range(int(sys.argv[2])):
    c, _ = s.accept()
    c.makefile("rb").readline()
    c.sendall(b"x" * 100)
    c.close()
PY
# client.py PORT N: N MPTCP connections, each read to EOF.
cat >"$TMP/client.py" <<'PY'
import socket, sys
for _ in range(int(sys.argv[2])):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
    c.connect(("127.0.0.1", int(sys.argv[1])))
    c.sendall(b"hello\n")
    assert len(c.makefile("rb").read()) == 100
    c.close()
PY

# twice WHAT [VAR=VALUE...]: an instance serves N clients and exits,
# then a second starts on its port; sets OUTCOME for the second.
twice() {
	local what=$1
	shift
	start "$what" env "$@" "$PYTHON3" "$TMP/server.py" 0 $N
	wait_ready || hard_error "$what: server failed: $(cat "$SRV_ERR")"
	timeout 20 "$PYTHON3" "$TMP/client.py" "$SRV_PORT" $N ||
		hard_error "$what: clients failed"
	wait "$SRV_PID" || hard_error "$what: server: $(cat "$SRV_ERR")"
	wait_tw "$SRV_PORT" 1 ||
		hard_error "$what: no TIME_WAIT left on port $SRV_PORT"
	start "$what-again" env "$@" "$PYTHON3" "$TMP/server.py" "$SRV_PORT" 0
	outcome "$what: restart" hard_error
}

twice control ${SANITIZER_RUNTIME:+LD_PRELOAD="$SANITIZER_RUNTIME"}
[ "$OUTCOME" = "in use" ] ||
	hard_error "control: the restart without rebind succeeded: this" \
		"host proves nothing"
twice rebind LD_PRELOAD="$SHIM_PRELOAD"
[ "$OUTCOME" = starts ] ||
	fail "the MPTCP server's restart under rebind: $(cat "$SRV_ERR")"
exit 0
