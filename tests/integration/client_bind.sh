#!/bin/bash
# The bind retry must keep client behaviour: under LD_PRELOAD, socket 1
# binds 127.0.0.1:P (P from binding port 0) and does not listen; socket 2
# binding the same address and port must still fail with EADDRINUSE, with
# its SO_REUSEADDR back at 0 afterwards.  Control: when the program sets
# SO_REUSEADDR on both sockets itself, the second bind succeeds (with and
# without the shim), so this test can see the difference.  Python's socket
# module calls libc bind(), so the hook sees these calls.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

cat >"$TMP/twobind.py" <<'EOF'
import errno
import socket
import sys

family = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
host = "::1" if sys.argv[1] == "6" else "127.0.0.1"
own_reuse = sys.argv[2] == "reuse"


def sock():
    s = socket.socket(family, socket.SOCK_STREAM)
    if own_reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s


def reuse(s):
    return s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)


s1 = sock()
s1.bind((host, 0))
port = s1.getsockname()[1]
s2 = sock()
try:
    s2.bind((host, port))
    print("bound reuseaddr=%d,%d" % (reuse(s1), reuse(s2)))
except OSError as e:
    name = errno.errorcode.get(e.errno, str(e.errno))
    print("%s reuseaddr=%d,%d" % (name, reuse(s1), reuse(s2)))
EOF

# check WHAT EXPECTED CMD...: CMD's stdout must be EXPECTED, exit 0.
check() {
	local what=$1 want=$2 got
	shift 2
	got=$(timeout 10 "$@" 2>"$TMP/err") ||
		fail "$what: exit $?: $(cat "$TMP/err")"
	[ "$got" = "$want" ] || fail "$what: expected '$want', got '$got' $(cat "$TMP/err")"
	note "$what: $got"
}

families=4
if have_ipv6; then
	families="4 6"
else
	note "NOT TESTED: IPv6 (::1 cannot be bound on this host)"
fi

for f in $families; do
	check "IPv$f, no shim" "EADDRINUSE reuseaddr=0,0" \
		"$PYTHON3" "$TMP/twobind.py" "$f" plain
	check "IPv$f, LD_PRELOAD" "EADDRINUSE reuseaddr=0,0" \
		env LD_PRELOAD="$SHIM_PRELOAD" "$PYTHON3" "$TMP/twobind.py" "$f" plain
	check "IPv$f, LD_PRELOAD, REBIND_LOG=debug" "EADDRINUSE reuseaddr=0,0" \
		env LD_PRELOAD="$SHIM_PRELOAD" REBIND_LOG=debug \
		"$PYTHON3" "$TMP/twobind.py" "$f" plain
	# Controls: the program's own SO_REUSEADDR on both sockets.
	check "IPv$f, no shim, program sets SO_REUSEADDR" "bound reuseaddr=1,1" \
		"$PYTHON3" "$TMP/twobind.py" "$f" reuse
	check "IPv$f, LD_PRELOAD, program sets SO_REUSEADDR" "bound reuseaddr=1,1" \
		env LD_PRELOAD="$SHIM_PRELOAD" "$PYTHON3" "$TMP/twobind.py" "$f" reuse
done
exit 0
