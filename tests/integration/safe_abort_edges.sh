#!/bin/bash
# Three ways safe-abort could lose what it promises to keep, each against
# a control that shows the test can tell:
# (a) a vfork() child (Python's subprocess uses it) shares the daemon's
#     memory, and so rebind's table, but not its process: the child's
#     close_range() before exec must not shut down the daemon's live
#     connection; a connection the child dup2()s and keeps, or keeps
#     through exec as it inherited it, must not be reset when the daemon
#     closes its own descriptor; a child that closes the listener must
#     leave the daemon its own SO_LINGER there; and a socket closed,
#     copied or replaced after a vfork() the program made before rebind
#     knew its pid must not keep a "fresh" mark (vfork_probe);
# (b) a peer whose receive window is full may not take our FIN at once:
#     whatever the queues say, no client may lose data or its EOF.

. "$srcdir/tests/integration/lib.sh"
: "${PROBES:?set by make check}"

# keepalive.py: accept one connection, send "a", run a subprocess, send
# "b", close.  The client must read "ab" and a clean EOF.
cat >"$TMP/keepalive.py" <<'PY'
import socket, subprocess, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4)
print("ready %d" % srv.getsockname()[1], flush=True)
c, _ = srv.accept()
c.sendall(b"a")
subprocess.run(["true"], check=True, close_fds=True)
c.sendall(b"b")
c.close()
PY

# fullwin.py: accept, send BYTES without waiting, close at once; the
# client (below) has a small receive buffer and reads only later.
cat >"$TMP/fullwin.py" <<'PY'
import socket, sys
n = int(sys.argv[1])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4)
print("ready %d" % srv.getsockname()[1], flush=True)
for _ in range(int(sys.argv[2])):
    c, _ = srv.accept()
    c.sendall(b"x" * n)
    c.close()
PY

cat >"$TMP/slowread.py" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
time.sleep(0.3)
try:
    got = len(s.makefile("rb").read())
    print("ok %d eof" % got)
except ConnectionResetError:
    print("reset")
PY

keepalive() {
	start keepalive env "$@" "$PYTHON3" "$TMP/keepalive.py"
	wait_ready || hard_error "keepalive server: $(cat "$SRV_ERR")"
	timeout 20 "$PYTHON3" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
data = b""
while True:
    d = s.recv(100)
    if not d:
        break
    data += d
print(data.decode())' "$SRV_PORT" >"$TMP/ka.out" 2>&1
	wait "$SRV_PID" 2>/dev/null
	out=$(cat "$TMP/ka.out")
}

keepalive LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort
[ "$out" = ab ] ||
	fail "vfork child: the daemon's connection broke: client read '$out'" \
		"and the server said: $(cat "$SRV_ERR")"
keepalive ${SANITIZER_RUNTIME:+LD_PRELOAD="$SANITIZER_RUNTIME"}
[ "$out" = ab ] || hard_error "control without rebind: client read '$out'"

# vfork_dup [VAR=VALUE...] [inherit | close-listener | early-*]: run
# vfork_probe.
vfork_dup() {
	local args=()
	case ${*: -1} in
	inherit | close-listener | early-*)
		args=("${*: -1}") && set -- "${@:1:$#-1}" ;;
	esac
	out=$(env "$@" timeout 20 "$PROBES/vfork_probe" "${args[@]}" 2>&1)
}
vfork_dup ${SANITIZER_RUNTIME:+LD_PRELOAD="$SANITIZER_RUNTIME"} ||
	hard_error "vfork_probe without rebind: $out"
vfork_dup LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort ||
	fail "a connection dup2()ed in a vfork child was reset: $out"
# A connection the child only inherits: rebind sees the vfork() only
# where it hooks it (glibc on x86; README, Limits).
if nm -D --defined-only "$LIBREBIND" | grep -qw vfork; then
	vfork_dup ${SANITIZER_RUNTIME:+LD_PRELOAD="$SANITIZER_RUNTIME"} \
		inherit || hard_error "vfork_probe inherit without rebind: $out"
	vfork_dup LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort inherit ||
		fail "a connection a vfork child inherited was reset: $out"
	# The first socket, closed, copied or replaced after a vfork() made
	# before rebind knew its own pid: no "fresh" mark may outlive it, or
	# the socket at its number loses the program's SO_REUSEADDR.
	for how in early-close early-dup early-dup2; do
		vfork_dup ${SANITIZER_RUNTIME:+LD_PRELOAD="$SANITIZER_RUNTIME"} \
			$how || hard_error "vfork_probe $how without rebind: $out"
		vfork_dup LD_PRELOAD="$SHIM_PRELOAD" $how ||
			fail "$how: a fresh mark outlived its socket after a vfork(): $out"
	done
else
	note "NOT TESTED: a connection a vfork() child inherits, a close after an early vfork() (vfork is not hooked here)"
fi
# A vfork child that closes the listener leaves the parent's own
# SO_LINGER on it, and on its connections, under abort.
vfork_dup ${SANITIZER_RUNTIME:+LD_PRELOAD="$SANITIZER_RUNTIME"} \
	close-listener || hard_error "vfork_probe close-listener without rebind: $out"
vfork_dup LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=abort close-listener ||
	fail "a vfork child's close of the listener cost the parent its own SO_LINGER: $out"

# (b) 10 connections per size; the replies fill the peer's small window.
# fullwin BYTES [VAR=VALUE...]: sets GOOD, how many of the 10 clients read
# all BYTES and a clean EOF (their lines in $TMP/fullwin.out).
fullwin() {
	local bytes=$1
	shift
	start fullwin env "$@" "$PYTHON3" "$TMP/fullwin.py" "$bytes" 10
	wait_ready || hard_error "fullwin server: $(cat "$SRV_ERR")"
	for _ in $(seq 10); do
		timeout 20 "$PYTHON3" "$TMP/slowread.py" "$SRV_PORT" "$bytes"
	done >"$TMP/fullwin.out"
	wait "$SRV_PID" 2>/dev/null
	GOOD=$(grep -cx "ok $bytes eof" "$TMP/fullwin.out")
}
for bytes in 4096 65536; do
	fullwin $bytes LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort
	[ "$GOOD" -eq 10 ] ||
		fail "full window, $bytes bytes: $((10 - GOOD)) of 10 clients lost" \
			"data or their EOF: $(sort "$TMP/fullwin.out" | uniq -c)"
done
# Control: abort resets instead of sending a FIN, so no client can read a
# clean EOF there: the test can see a loss.
fullwin 65536 LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=abort
[ "$GOOD" -lt 10 ] ||
	hard_error "control: under abort every client read everything and a" \
		"clean EOF: this test cannot see a loss"
exit 0
