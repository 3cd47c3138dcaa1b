#!/bin/bash
# A [port] rule in the config file applies to that port only.  One
# process listens on two ports under LD_PRELOAD with a config that asks
# for linger = abort on the first port alone (and, the other way round,
# abort globally with a [port] section turning it off on the second):
# the server's getsockopt() shows linger {1,0} on the first listener and
# its connections and {0,0} on the second, connections to the first
# port leave no TIME_WAIT entry and those to the second leave one each
# (which also shows that this server's entries are visible on this
# host).

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

N=10

# The server: binds 127.0.0.1 on the two ports given, reports each
# listener's options, prints "ready2 P2" then "ready P1" (wait_ready
# reads the latter), serves N connections on each port (read a line,
# reply, close first) with their options reported, and exits 0.  Exit 2
# when a port is taken.
cat >"$TMP/two_ports.py" <<'EOF'
import errno
import selectors
import socket
import struct
import sys


def opts(s):
    reuse = s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    on, secs = struct.unpack("ii", s.getsockopt(socket.SOL_SOCKET,
                                                socket.SO_LINGER, 8))
    return "reuseaddr=%d linger=%d,%d" % (reuse, on, secs)


def main():
    ports = [int(sys.argv[1]), int(sys.argv[2])]
    n = int(sys.argv[3])
    sel = selectors.DefaultSelector()
    report = []
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
        except OSError as e:
            print("bind %d: %s" % (p, e), file=sys.stderr)
            return 2 if e.errno == errno.EADDRINUSE else 1
        s.listen(16)
        sel.register(s, selectors.EVENT_READ)
        report.append("listener %d %s" % (p, opts(s)))
    report.append("ready2 %d" % ports[1])
    report.append("ready %d" % ports[0])
    print("\n".join(report), flush=True)
    left = n * len(ports)
    while left > 0:
        for key, _ in sel.select():
            c, _ = key.fileobj.accept()
            port = key.fileobj.getsockname()[1]
            c.settimeout(10)
            data = b""
            while not data.endswith(b"\n"):
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            print("conn %d %s" % (port, opts(c)), flush=True)
            c.sendall(b"0123456789abcdef" * 64)
            c.close()
            left -= 1
    return 0


sys.exit(main())
EOF

# free_ports: two different ports nothing uses now, below the ephemeral
# range (free_port), for the config to name.  Sets P1 and P2.
free_ports() {
	P1=$(free_port) || exit 99
	[ "$P1" != 0 ] ||
		skip "the ephemeral port range leaves no room for fixed ports below it"
	P2=$P1
	while [ "$P2" = "$P1" ]; do
		P2=$(free_port) || exit 99
	done
}

# want_opts PORT OPTS: the listener on PORT and its N connections had OPTS.
want_opts() {
	local port=$1 want=$2 good
	grep -qx "listener $port $want" "$SRV_OUT" ||
		fail "$what: listener $port: want '$want', got: $(grep "^listener $port " "$SRV_OUT")"
	good=$(grep -cx "conn $port $want" "$SRV_OUT")
	[ "$good" -eq $N ] ||
		fail "$what: want $N connections on $port with '$want', got:
$(grep "^conn $port " "$SRV_OUT" | sort | uniq -c)"
}

# run_case WHAT CONFIG-TEXT: CONFIG-TEXT may name the ports as @P1@ and
# @P2@.  The first port must get abort, the second nothing.
run_case() {
	what=$1
	local text=$2 st
	free_ports
	echo "$text" | sed "s/@P1@/$P1/g; s/@P2@/$P2/g" >"$TMP/rebind.conf"
	start "$what" env LD_PRELOAD="$SHIM_PRELOAD" \
		REBIND_CONFIG="$TMP/rebind.conf" \
		"$PYTHON3" "$TMP/two_ports.py" "$P1" "$P2" $N
	wait_ready ||
		fail "$what: server failed (exit $SRV_STATUS): $(cat "$SRV_ERR")"
	grep -qx "ready2 $P2" "$SRV_OUT" || fail "$what: no 'ready2 $P2' line: $(cat "$SRV_OUT")"
	[ "$(tw_count "$P1")" -eq 0 ] && [ "$(tw_count "$P2")" -eq 0 ] ||
		hard_error "$what: TIME_WAIT entries on fresh ports $P1/$P2"

	clients "$P1" $N --expect any >"$TMP/c1.out" ||
		fail "$what: clients on $P1: $(sort "$TMP/c1.out" | uniq -c)"
	clients "$P2" $N --expect eof >"$TMP/c2.out" ||
		fail "$what: clients on $P2: $(sort "$TMP/c2.out" | uniq -c)"
	wait "$SRV_PID"
	st=$?
	[ $st -eq 0 ] || fail "$what: server exited $st: $(cat "$SRV_ERR")"
	[ ! -s "$SRV_ERR" ] || fail "$what: stderr not empty: $(cat "$SRV_ERR")"

	want_opts "$P1" "reuseaddr=1 linger=1,0"
	want_opts "$P2" "reuseaddr=1 linger=0,0"
	# The unruled port first: it proves the entries of this server show.
	wait_tw "$P2" $N ||
		fail "$what: port $P2 (no rule): want $N TIME_WAIT entries, found $(tw_count "$P2")"
	no_tw "$P1" "$what: port $P1 (linger abort)"
	note "$what: $P1 abort, no TIME_WAIT; $P2 untouched, $(tw_count "$P2") TIME_WAIT"
}

run_case "[port P1] linger = abort" "# conf_port_rule.sh
[port @P1@]
linger = abort"

run_case "global abort, [port P2] linger = off" "linger = abort
[port @P2@]
linger = off"

exit 0
