#!/bin/bash
# The program's own setsockopt wins: rebind never overrides an
# SO_REUSEADDR or SO_LINGER the program set itself, and never retries a
# bind with SO_REUSEADDR on a socket where the program chose 0 -- unless
# override = yes says so (cases 5 and 6, against cases 1 and 3), and
# the info log says so (case 7); the same for a process's later
# listeners (case 8), also after a retried bind (case 9).

. "$srcdir/tests/integration/lib.sh"

N=10

# under WHAT PORT [VAR=VALUE...] -- SERVER_OPTS: start legacy-server on
# PORT (0: any) under rebind with the VAR=VALUE settings.
under() {
	local what=$1 p=$2 envs=""
	shift 2
	while [ "$1" != -- ]; do
		envs="$envs $1"
		shift
	done
	shift
	# shellcheck disable=SC2086
	start "$what" env LD_PRELOAD="$SHIM_PRELOAD" $envs "$LEGACY_SERVER" \
		-p "$p" -q "$@"
}

# serve WHAT PORT N [VAR=VALUE...] -- SERVER_OPTS: a server under rebind
# on PORT (0: any) serves N clients and exits.  Sets port.  The clients
# expect a clean EOF, or anything after the data with EXPECT=any; AWAIT=1
# makes them wait for safe-abort's reset after the EOF.
serve() {
	local what=$1 p=$2 n=$3
	shift 3
	under "$what" "$p" "$@" -n "$n" --report
	wait_ready || fail "$what: server failed ($SRV_STATUS): $(cat "$SRV_ERR")"
	port=$SRV_PORT
	clients "$port" "$n" --expect "${EXPECT:-eof}" \
		${AWAIT:+--await-reset 1} >"$TMP/clients.out" ||
		fail "$what: clients: $(sort "$TMP/clients.out" | uniq -c)"
	server_done
}

# restart WHAT PORT [VAR=VALUE...] -- SERVER_OPTS: start a server under
# rebind on PORT; sets OUTCOME ("starts" or "in use", see lib.sh).
restart() {
	under "$@"
	outcome "$1"
}

need_tw() {
	[ "$(tw_count "$1")" -gt 0 ] ||
		hard_error "$2: no TIME_WAIT entry left on port $1, nothing to test"
}

# 1. --set-reuseaddr=0: the program's 0 stays on the listener and the
# connections (so their TIME_WAIT entries lack the flag), and a restart
# that also asks for 0 fails.
serve "reuse0" "$(free_port)" $N -- --set-reuseaddr=0
report_ok "reuseaddr=0 linger=0,0" $N
wait_tw "$port" $N || fail "reuse0: want $N TIME_WAIT entries, found $(tw_count "$port")"
restart "reuse0 restart" "$port" -- --set-reuseaddr=0
[ "$OUTCOME" = "in use" ] ||
	fail "reuse0: restart with --set-reuseaddr=0 over TIME_WAIT: want" \
		"EADDRINUSE (exit 2), but it started"

# 2. No retry where the program set 0.  The old instance ran under
# rebind's default, so its TIME_WAIT entries carry SO_REUSEADDR and
# rebind's retry would succeed: the program asked for 0, so the bind
# must fail.  Control: the same restart without the program's 0 succeeds.
serve "default" "$(free_port)" $N --
report_ok "reuseaddr=1 linger=0,0" $N
wait_tw "$port" $N || fail "default: want $N TIME_WAIT entries, found $(tw_count "$port")"
restart "no-retry restart" "$port" -- --set-reuseaddr=0
[ "$OUTCOME" = "in use" ] ||
	fail "restart with --set-reuseaddr=0: want EADDRINUSE (exit 2), but" \
		"it started (rebind retried the bind?)"
grep -q 'bind' "$SRV_ERR" ||
	fail "restart with --set-reuseaddr=0 failed, but not at bind: $(cat "$SRV_ERR")"
need_tw "$port" "control"
restart "control restart" "$port" --
[ "$OUTCOME" = starts ] ||
	hard_error "control: the restart under rebind's default failed too" \
		"(in use), so this test cannot tell: $(cat "$SRV_ERR")"

# 3. --set-linger=1,5 under abort: 1,5 stays; rebind's 1,0 would reset
# every close, so the connections keep their TIME_WAIT.
serve "linger15" "$(free_port)" $N REBIND_LINGER=abort -- --set-linger=1,5
report_ok "reuseaddr=1 linger=1,5" $N
wait_tw "$port" $N ||
	fail "linger 1,5 under abort: want $N TIME_WAIT entries, found $(tw_count "$port")"

# 4. --set-linger=0,0 under safe-abort: the program chose its linger, so
# closes are ordinary and every connection leaves TIME_WAIT.  Control:
# without the program's choice, safe-abort resets most connections after
# their EOF (the clients wait for that reset).
N=30
serve "linger00" "$(free_port)" $N REBIND_LINGER=safe-abort -- --set-linger=0,0
report_ok "reuseaddr=1 linger=0,0" $N
wait_tw "$port" $N ||
	fail "linger 0,0 under safe-abort: want $N TIME_WAIT entries, found $(tw_count "$port")"
AWAIT=1 serve "safe control" "$(free_port)" $N REBIND_LINGER=safe-abort --
report_ok "reuseaddr=1 linger=0,0" $N
resets=$(grep -c ' then-reset$' "$TMP/clients.out")
[ "$resets" -gt $((N / 2)) ] ||
	hard_error "control: safe-abort alone reset only $resets of $N" \
		"connections, so this test cannot tell"

# 5. REBIND_OVERRIDE=yes: rebind's SO_REUSEADDR=1 replaces the program's 0
# (case 1 shows the 0 without it), so the entries carry the flag and a
# restart that asks for 0 again binds over them.
N=10
serve "override reuse" "$(free_port)" $N REBIND_OVERRIDE=yes -- --set-reuseaddr=0
report_ok "reuseaddr=1 linger=0,0" $N
wait_tw "$port" $N || fail "override: want $N TIME_WAIT entries, found $(tw_count "$port")"
restart "override restart" "$port" REBIND_OVERRIDE=yes -- --set-reuseaddr=0
[ "$OUTCOME" = starts ] ||
	fail "override = yes: restart with the program's 0 failed" \
		"(in use): $(cat "$SRV_ERR")"

# 6. override = yes from the config file: abort's {1,0} replaces the
# program's own 1,5 (case 3 keeps 1,5), and no TIME_WAIT is left.
printf 'override = yes\nlinger = abort\n' >"$TMP/override.conf"
EXPECT=any serve "override linger" "$(free_port)" $N \
	REBIND_CONFIG="$TMP/override.conf" -- --set-linger=1,5
report_ok "reuseaddr=1 linger=1,0" $N
[ "$(tw_count "$port")" -eq 0 ] ||
	fail "override + abort: $(tw_count "$port") TIME_WAIT entries left"

# 7. The info log names an override when rebind replaced the program's
# own value, and only then: the program's own linger is not SO_REUSEADDR.
logged() {
	under "$1" 0 REBIND_OVERRIDE=yes REBIND_LOG=info -- "$2"
	wait_ready || fail "$1: server failed ($SRV_STATUS): $(cat "$SRV_ERR")"
	stop
	grep -q "port $SRV_PORT: SO_REUSEADDR=1" "$SRV_ERR" ||
		fail "$1: no SO_REUSEADDR=1 line at info: $(cat "$SRV_ERR")"
}
logged "log of an override" --set-reuseaddr=0
grep -q "SO_REUSEADDR=1 (override: over the program's own value)" \
	"$SRV_ERR" || fail "override of the program's 0 not logged: $(cat "$SRV_ERR")"
logged "log without an override" --set-linger=1,5
! grep -q "override" "$SRV_ERR" ||
	fail "an override logged where the program set only SO_LINGER: $(cat "$SRV_ERR")"

# 8. Listeners after a process's first (socket() then marks them fresh,
# and listen() reads less): the program's own 0 stays, the others get 1,
# and override = yes sets 1 over that 0 too.  Printed: the first
# listener's SO_REUSEADDR, one where the program set 0, one untouched.
three() {
	env "$@" "$PYTHON3" -c '
import socket
S, R = socket.SOL_SOCKET, socket.SO_REUSEADDR
def listener(own):
    s = socket.socket()
    if own is not None:
        s.setsockopt(S, R, own)
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s
a, b, c = listener(None), listener(0), listener(None)
print(*(s.getsockopt(S, R) for s in (a, b, c)))'
}
out=$(three) || hard_error "three listeners without the shim: $out"
[ "$out" = "0 0 0" ] || hard_error "without the shim: want 0 0 0, got $out"
out=$(three LD_PRELOAD="$SHIM_PRELOAD")
[ "$out" = "1 0 1" ] ||
	fail "later listeners: want 1 0 1 (the program's 0 kept), got $out"
out=$(three LD_PRELOAD="$SHIM_PRELOAD" REBIND_OVERRIDE=yes)
[ "$out" = "1 1 1" ] ||
	fail "later listeners, override: want 1 1 1, got $out"

# 9. A later listener whose bind rebind retried over TIME_WAIT keeps the
# program's own SO_LINGER under abort.  Printed: whether the bind needed
# the retry (SO_REUSEADDR 1 before listen), then the listener's linger.
retried() {
	env "$@" "$PYTHON3" -c '
import socket, struct
S = socket.SOL_SOCKET
first = socket.socket(); first.bind(("127.0.0.1", 0)); first.listen()
old = socket.socket(); old.bind(("127.0.0.1", 0)); old.listen()
port = old.getsockname()[1]
c = socket.create_connection(("127.0.0.1", port))
s, _ = old.accept()
s.setsockopt(S, socket.SO_LINGER, struct.pack("ii", 0, 0))  # not abort
s.close()           # the server closes first: TIME_WAIT on the port
c.recv(1); c.close()
old.close()
new = socket.socket()
new.setsockopt(S, socket.SO_LINGER, struct.pack("ii", 1, 5))
new.bind(("127.0.0.1", port))
reuse = new.getsockopt(S, socket.SO_REUSEADDR)
new.listen()
print(reuse, *struct.unpack("ii", new.getsockopt(S, socket.SO_LINGER, 8)))'
}
out=$(retried LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=abort) ||
	fail "retried bind: $out"
[ "$out" = "1 1 5" ] ||
	fail "retried bind, own SO_LINGER {1,5}: want '1 1 5' (retried, kept), got '$out'"
exit 0
