#!/bin/bash
# [program NAME] rules with "enable = no" as the default: only the named
# daemons get rebind, although LD_PRELOAD reaches every process.
#  - legacy-server ([program legacy-server]): SO_REUSEADDR on its
#    listener and connections (--report), and its restart over its own
#    TIME_WAIT entries succeeds;
#  - the same binary copied as plain-daemon (no section): untouched, and
#    its restart over legacy-server's entries fails (were the library
#    active there, its bind retry would succeed);
#  - plain-daemon run as `exec -a other-name` ([program other-name]):
#    matched by argv[0] alone; `exec -a third-name`: untouched;
#  - a Python daemon pyd.py ([program pyd*.py], also linger = abort):
#    matched by its script name; the child it starts (sh -c, then
#    python3 child.py, the same code) is left untouched.
# A control run without the shim must fail the restart, else exit 99.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

N=5
mkdir "$TMP/bin" || hard_error "mkdir"
cp "$LEGACY_SERVER" "$TMP/bin/plain-daemon" || hard_error "cannot copy $LEGACY_SERVER"

cat >"$TMP/rebind.conf" <<'EOF'
# conf_program_rule.sh: rebind only where a section says so.
enable = no

[program legacy-server]
enable = yes

[program other-name]
enable = yes

[program pyd*.py]
enable = yes
linger = abort
EOF
CONF="$TMP/rebind.conf"
timeout 10 "$REBIND_BIN" check "$CONF" >/dev/null ||
	hard_error "the config has errors: $(timeout 10 "$REBIND_BIN" check "$CONF")"

# srv WHAT PORT CMD...: CMD (a legacy-server) on PORT with --report, under
# LD_PRELOAD and the config (WHAT starting with "plain": no shim).
srv() {
	local what=$1 port=$2
	shift 2
	case $what in
	plain*) start srv "$@" -p "$port" -n $N --report -q ;;
	*) start srv env LD_PRELOAD="$SHIM_PRELOAD" REBIND_CONFIG="$CONF" \
		"$@" -p "$port" -n $N --report -q ;;
	esac
}

# serve WHAT WANT: the server started last serves N clients and exits;
# its listener and every connection had WANT ("reuseaddr=R linger=..."),
# and its port keeps N TIME_WAIT entries.  Sets PORT.
serve() {
	local what=$1 want=$2
	wait_ready || fail "$what: did not start (exit $SRV_STATUS): $(cat "$SRV_ERR")"
	PORT=$SRV_PORT
	clients "$PORT" $N --expect eof >"$TMP/clients.out" ||
		fail "$what: clients: $(sort "$TMP/clients.out" | uniq -c)"
	server_done "$what"
	report_ok "$want" $N "$what"
	! grep -q rebind "$SRV_ERR" || fail "$what: rebind printed: $(cat "$SRV_ERR")"
	wait_tw "$PORT" $N ||
		fail "$what: want $N TIME_WAIT entries on $PORT, found $(tw_count "$PORT")"
}

# Control without the shim: this host keeps the port blocked.
srv plain "$(free_port)" "$LEGACY_SERVER"
serve "no shim" "reuseaddr=0 linger=0,0"
srv plain "$PORT" "$LEGACY_SERVER"
outcome "no shim, restart"
[ "$OUTCOME" = "in use" ] ||
	hard_error "restart without the shim succeeded over TIME_WAIT: this host cannot show the problem"

# legacy-server matches its section: SO_REUSEADDR, and the restart works.
srv rule "$(free_port)" "$LEGACY_SERVER"
serve "legacy-server" "reuseaddr=1 linger=0,0"
# plain-daemon, the same binary under another name, is left alone: over
# entries that carry SO_REUSEADDR only a bind retry could succeed.
srv rule "$PORT" "$TMP/bin/plain-daemon"
outcome "plain-daemon restart"
[ "$OUTCOME" = "in use" ] ||
	fail "plain-daemon (no section, enable = no) restarted over TIME_WAIT: rebind was active in it"
srv rule "$PORT" "$LEGACY_SERVER"
outcome "legacy-server restart"
[ "$OUTCOME" = starts ] ||
	fail "legacy-server ([program legacy-server] enable = yes): restart over TIME_WAIT failed: $(cat "$SRV_ERR")"

srv rule "$(free_port)" "$TMP/bin/plain-daemon"
serve "plain-daemon" "reuseaddr=0 linger=0,0"

# argv[0]: exec -a changes it, /proc/self/exe still says plain-daemon.
# shellcheck disable=SC2016
srv rule "$(free_port)" bash -c 'exec -a other-name "$0" "$@"' "$TMP/bin/plain-daemon"
serve "exec -a other-name plain-daemon" "reuseaddr=1 linger=0,0"
# shellcheck disable=SC2016
srv rule "$(free_port)" bash -c 'exec -a third-name "$0" "$@"' "$TMP/bin/plain-daemon"
serve "exec -a third-name plain-daemon" "reuseaddr=0 linger=0,0"

# A Python daemon, matched by its script's name, starts a child through
# sh -c: the child is the same code under another name.
cat >"$TMP/pyd.py" <<'EOF'
import os
import socket
import struct
import subprocess
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(1)
reuse = s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
on, secs = struct.unpack("ii", s.getsockopt(socket.SOL_SOCKET,
                                            socket.SO_LINGER, 8))
print("listener %s reuseaddr=%d linger=%d,%d"
      % (os.path.basename(sys.argv[0]), reuse, on, secs), flush=True)
if len(sys.argv) > 1:
    sys.exit(subprocess.run(["sh", "-c", 'exec "$0" "$1"', sys.executable,
                             sys.argv[1]]).returncode)
EOF
cp "$TMP/pyd.py" "$TMP/child.py" || hard_error "cp"
timeout 20 env LD_PRELOAD="$SHIM_PRELOAD" REBIND_CONFIG="$CONF" \
	"$PYTHON3" "$TMP/pyd.py" "$TMP/child.py" >"$TMP/py.out" 2>"$TMP/py.err" ||
	fail "pyd.py failed: $(cat "$TMP/py.err")"
! grep -q rebind "$TMP/py.err" || fail "pyd.py: rebind printed: $(cat "$TMP/py.err")"
grep -qx "listener pyd.py reuseaddr=1 linger=1,0" "$TMP/py.out" ||
	fail "pyd.py ([program pyd*.py]): want reuseaddr=1 linger=1,0, got: $(cat "$TMP/py.out")"
grep -qx "listener child.py reuseaddr=0 linger=0,0" "$TMP/py.out" ||
	fail "child.py, started by pyd.py: want it untouched (reuseaddr=0 linger=0,0), got: $(cat "$TMP/py.out")"
[ "$(wc -l <"$TMP/py.out")" -eq 2 ] || fail "pyd.py: unexpected output: $(cat "$TMP/py.out")"
note "$(tr '\n' ';' <"$TMP/py.out")"
exit 0
