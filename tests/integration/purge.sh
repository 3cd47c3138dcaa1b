#!/bin/bash
# rebind purge PORT destroys the TIME_WAIT entries on PORT and nothing
# else.  The legacy server runs WITHOUT rebind and leaves TIME_WAIT
# entries; a plain restart fails (control); after the purge the entries
# are gone and a plain restart succeeds at once.  Meanwhile a listener on
# another address of the same port and an established connection through
# it must stay untouched: the connection still carries data after each
# purge, the listener still accepts.  Then rebind --purge-timewait.
# Without CAP_NET_ADMIN: exit 1, one line, nothing destroyed.
# Socket state comes from tcpstate.py (its own sock_diag dump), not ss.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

[ "$(id -u)" = 0 ] || skip "rebind purge needs root (CAP_NET_ADMIN); CI runs the test as root"
cap=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
(((0x$cap >> 12) & 1)) || skip "root without CAP_NET_ADMIN here (a container?)"

N=3
# A root shell without CAP_NET_ADMIN, for the failure cases.
NOCAP=(setpriv --inh-caps=-net_admin --bounding-set=-net_admin --)
nocap_ok=true
"${NOCAP[@]}" true 2>/dev/null || nocap_ok=false

# srv MODE NAME PORT: the legacy server on HOST:PORT, plain or through
# the wrapper with more wrapper options (MODE "rebind OPTION...").
srv() {
	local mode=$1 name=$2 port=$3
	case $mode in
	plain) start "$name" "$LEGACY_SERVER" -a "$HOST" -p "$port" ;;
	rebind*) start "$name" "$REBIND_BIN" ${mode#rebind} -- "$LEGACY_SERVER" -a "$HOST" -p "$port" ;;
	esac
}

# in_use MODE PORT WHAT: a start on PORT must fail with EADDRINUSE.
in_use() {
	srv "$1" "inuse" "$2"
	outcome "$3"
	[ "$OUTCOME" = "in use" ]
}

# serve_tw PORT WHAT: N clients, then N more TIME_WAIT entries on PORT.
serve_tw() {
	local tw0 out
	tw0=$(tcp_count "$1" TIME_WAIT)
	out=$(clients "$1" "$N" --host "$HOST") || fail "$2: clients failed: ${out//$'\n'/ }"
	wait_tcp_count "$1" TIME_WAIT $((tw0 + N)) ||
		hard_error "$2: $N connections left $(tcp_count "$1" TIME_WAIT) TIME_WAIT entries on port $1 (had $tw0)"
}

# purge PORT WHAT: rebind purge PORT must exit 0 and leave no TIME_WAIT.
purge() {
	local out rc tw
	tw=$(tcp_count "$1" TIME_WAIT)
	out=$("$REBIND_BIN" purge "$1" 2>&1)
	rc=$?
	[ "$rc" = 0 ] || fail "$2: rebind purge $1: exit $rc: $out"
	[[ $out =~ ^$1:\ ([0-9]+)\ TIME_WAIT\ entr(y|ies)\ destroyed$ ]] ||
		fail "$2: rebind purge $1 printed: $out"
	[ "${BASH_REMATCH[1]}" -ge "$N" ] || fail "$2: destroyed ${BASH_REMATCH[1]}, had $tw: $out"
	[ "$(tcp_count "$1" TIME_WAIT)" = 0 ] ||
		fail "$2: $(tcp_count "$1" TIME_WAIT) TIME_WAIT entries left on port $1 after: $out"
	note "$2: $out (had $tw)"
}

# --- A listener on 127.0.0.2:PORT and an established connection through
# it, driven over a coprocess: each "ping" sends data both ways on the
# held connection and has the listener accept a fresh one; "ok" or an
# error comes back.  Its sockets close passively: no TIME_WAIT on PORT.
cat >"$TMP/hold.py" <<'EOF'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
def recvn(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise OSError("EOF")
        data += chunk
    return data
lsn = socket.socket()
lsn.bind((host, port))
lsn.listen(8)
lsn.settimeout(5)
cli = socket.create_connection((host, port), timeout=5)
srv, _ = lsn.accept()
srv.settimeout(5)
print("ready", flush=True)
for line in sys.stdin:
    try:
        cli.sendall(b"ping\n")
        ok = recvn(srv, 5) == b"ping\n"
        srv.sendall(b"pong\n")
        ok = recvn(cli, 5) == b"pong\n" and ok
        fresh = socket.create_connection((host, port), timeout=5)
        acc, _ = lsn.accept()
        fresh.close()
        acc.settimeout(5)
        ok = acc.recv(1) == b"" and ok
        acc.close()
        print("ok" if ok else "error: wrong data", flush=True)
    except OSError as e:
        print("error: %s" % e, flush=True)
EOF

hold_start() { # PORT
	coproc HOLD { timeout 60 "$PYTHON3" "$TMP/hold.py" 127.0.0.2 "$1" 2>"$TMP/hold.err"; }
	PIDS="$PIDS $HOLD_PID"
	local line=""
	read -r -t 10 -u "${HOLD[0]}" line
	[ "$line" = ready ] || hard_error "cannot listen on 127.0.0.2:$1: $line $(cat "$TMP/hold.err")"
}

hold_ping() { # WHAT
	local line=""
	echo ping >&"${HOLD[1]}"
	read -r -t 10 -u "${HOLD[0]}" line
	[ "$line" = ok ] || fail "$1: the connection or listener on 127.0.0.2:$P: ${line:-no answer} $(cat "$TMP/hold.err")"
	[ "$(tcp_count "$P" LISTEN 127.0.0.2)" = 1 ] && [ "$(tcp_count "$P" ESTABLISHED 127.0.0.2)" = 1 ] ||
		fail "$1: 127.0.0.2:$P: $("$PYTHON3" "$TCPSTATE" "$P" --local 127.0.0.2 | tr '\n' ' ')"
}

# --- usage errors: exit 2, one line ---
for args in "" "0" "65536" "http" "-x"; do
	# shellcheck disable=SC2086
	out=$("$REBIND_BIN" purge $args 2>&1)
	rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && [[ $out == "rebind: "* ]] ||
		fail "purge $args: expected exit 2 and one 'rebind: ' line, got $rc: $out"
done

# "all" is no list of ports to purge: a usage error that says so.
out=$("$REBIND_BIN" purge all 2>&1)
rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q '^rebind: .*explicit ports' <<<"$out" ||
	fail "purge all: expected exit 2 and one line saying purge needs explicit ports, got $rc: $out"
# "--" ends the options, as for every subcommand.
P0=$(free_port)
[ "$P0" != 0 ] || hard_error "no free port for 'purge -- PORT'"
out=$("$REBIND_BIN" purge -- "$P0" 2>&1)
rc=$?
[ "$rc" = 0 ] && [ "$out" = "$P0: 0 TIME_WAIT entries destroyed" ] ||
	fail "purge -- $P0: exit $rc: $out"

HOST=127.0.0.1

# 1. A server without rebind leaves TIME_WAIT; a plain restart fails.
srv plain first "$(free_port)"
wait_ready || fail "did not start: $(cat "$SRV_ERR")"
P=$SRV_PORT
serve_tw "$P" "first instance"
stop
hold_start "$P"
hold_ping "before any purge"
in_use plain "$P" "control: plain restart over TIME_WAIT" ||
	hard_error "a plain restart on port $P succeeded over $(tcp_count "$P" TIME_WAIT) TIME_WAIT entries: this host cannot show the problem"
note "control: plain restart failed: $(grep 'in use' "$SRV_ERR")"

# 2. Without CAP_NET_ADMIN: exit 1, one line, nothing destroyed.
if $nocap_ok; then
	tw=$(tcp_count "$P" TIME_WAIT)
	out=$("${NOCAP[@]}" "$REBIND_BIN" purge "$P" 2>&1)
	rc=$?
	[ "$rc" = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q '^rebind: purge: .*CAP_NET_ADMIN' <<<"$out" ||
		fail "purge without CAP_NET_ADMIN: exit $rc: $out"
	[ "$(tcp_count "$P" TIME_WAIT)" -ge "$tw" ] || fail "purge without CAP_NET_ADMIN destroyed entries"
	note "without CAP_NET_ADMIN: $out"
else
	note "NOT TESTED: purge without CAP_NET_ADMIN (setpriv cannot drop it here)"
fi

# 3. The purge clears the way; a plain restart binds at once.
purge "$P" "first purge"
hold_ping "after the first purge"
srv plain second "$P"
wait_ready || fail "plain restart after the purge failed: $(cat "$SRV_ERR")"
note "plain restart on port $P right after the purge: started"

# 4. With two listeners and a connection on the port, only TIME_WAIT goes.
serve_tw "$P" "second instance"
purge "$P" "purge while two listeners and a connection are on the port"
[ "$(tcp_count "$P" LISTEN "$HOST")" = 1 ] || fail "the server's listener on $HOST:$P is gone after the purge"
serve_tw "$P" "second instance after the purge"
hold_ping "after the second purge"
stop

# 5. --purge-timewait: the ports are required; a failed purge warns once
# and the command still runs; as root it clears the way for the wrapper.
out=$(timeout 10 env -u REBIND_PORTS "$REBIND_BIN" --purge-timewait -- "$LEGACY_SERVER" -a "$HOST" -p "$P" 2>&1)
rc=$?
[ "$rc" = 125 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q '^rebind: --purge-timewait needs' <<<"$out" ||
	fail "--purge-timewait without ports: exit $rc: $out"
out=$(timeout 10 env REBIND_PORTS=all "$REBIND_BIN" --purge-timewait -- true 2>&1)
rc=$?
[ "$rc" = 0 ] && [ "$(wc -l <<<"$out")" = 1 ] &&
	grep -q '^rebind: --purge-timewait: .*explicit ports.*anyway$' <<<"$out" ||
	fail "--purge-timewait with REBIND_PORTS=all: want one warning that purge needs explicit ports, got $rc: $out"
in_use "rebind --ports=$P" "$P" "control: rebind restart after an instance without rebind" ||
	hard_error "rebind restarted on port $P over TIME_WAIT entries of an instance without rebind"
if $nocap_ok; then
	out=$(timeout 10 "${NOCAP[@]}" "$REBIND_BIN" --purge-timewait --ports="$P" -- "$LEGACY_SERVER" -a "$HOST" -p "$P" 2>&1)
	rc=$?
	[ "$rc" = 2 ] && [ "$(grep -c '^rebind: ' <<<"$out")" = 1 ] &&
		grep -q '^rebind: --purge-timewait: .*CAP_NET_ADMIN.*anyway$' <<<"$out" &&
		grep -q 'Address already in use' <<<"$out" ||
		fail "--purge-timewait without CAP_NET_ADMIN: expected one warning, then the server's own EADDRINUSE (exit 2); got $rc: $out"
	note "--purge-timewait without CAP_NET_ADMIN: $(grep '^rebind:' <<<"$out")"
fi
srv "rebind --purge-timewait --ports=$P" purged "$P"
wait_ready || fail "rebind --purge-timewait --ports=$P failed: $(cat "$SRV_ERR")"
[ "$(tcp_count "$P" TIME_WAIT)" = 0 ] || fail "TIME_WAIT entries left after --purge-timewait"
serve_tw "$P" "under rebind after --purge-timewait"
stop
hold_ping "after --purge-timewait"
note "rebind --purge-timewait --ports=$P: started at once"

# 6. IPv6: the same on ::1.
if have_ipv6; then
	HOST=::1
	srv plain v6 "$(free_port)"
	wait_ready || fail "IPv6: did not start: $(cat "$SRV_ERR")"
	P6=$SRV_PORT
	serve_tw "$P6" "IPv6"
	stop
	in_use plain "$P6" "IPv6 control" || hard_error "IPv6: a plain restart succeeded over TIME_WAIT"
	purge "$P6" "IPv6 purge"
	srv plain v6-again "$P6"
	wait_ready || fail "IPv6: plain restart after the purge failed: $(cat "$SRV_ERR")"
	stop
else
	note "NOT TESTED: IPv6 (::1 cannot be bound on this host); IPv4 passed"
fi
hold_ping "at the end"
exit 0
