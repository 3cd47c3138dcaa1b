#!/bin/bash
# A listen() that fails leaves the socket as it was.  rebind sets its
# options before the real listen() (so that no connection is accepted
# without them) and must take them back when the call fails:
# (a) listen() on a connected client socket fails with EINVAL;
# (b) listen() on a second socket bound to the same port (both with
#     SO_REUSEADDR, bound before either listened) fails with EADDRINUSE.
# Each socket must then carry the options it had before, under abort
# (SO_REUSEADDR and linger {1,0}) and the default policy, with errno as
# without rebind (the control).

. "$srcdir/tests/integration/lib.sh"

# failed.py: prints one line per case: "CASE errno=NAME reuseaddr=R
# linger=ON,SECS", the options read after the failed listen().
cat >"$TMP/failed.py" <<'PY'
import errno, socket, struct

def after(name, s, f):
    try:
        f()
        err = "none"
    except OSError as e:
        err = errno.errorcode[e.errno]
    on, secs = struct.unpack("ii", s.getsockopt(socket.SOL_SOCKET,
                                                socket.SO_LINGER, 8))
    print("%s errno=%s reuseaddr=%d linger=%d,%d" % (name, err,
          s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR), on, secs))

ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(4)
c = socket.create_connection(ls.getsockname())
after("connected", c, lambda: c.listen(4))

a, b = socket.socket(), socket.socket()
for s in (a, b):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
a.bind(("127.0.0.1", 0))
b.bind(a.getsockname())
a.listen(4)
after("second", b, lambda: b.listen(4))
PY

want="connected errno=EINVAL reuseaddr=0 linger=0,0
second errno=EADDRINUSE reuseaddr=1 linger=0,0"
got=$(timeout 20 env ${SANITIZER_RUNTIME:+LD_PRELOAD="$SANITIZER_RUNTIME"} \
	"$PYTHON3" "$TMP/failed.py" 2>&1)
[ "$got" = "$want" ] || hard_error "control without rebind: got
$got"
for linger in abort off; do
	got=$(timeout 20 env LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=$linger \
		"$PYTHON3" "$TMP/failed.py" 2>&1)
	[ "$got" = "$want" ] ||
		fail "REBIND_LINGER=$linger: a failed listen() changed the socket:
want
$want
got
$got"
done
exit 0
