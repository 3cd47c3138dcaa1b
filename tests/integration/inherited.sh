#!/bin/bash
# Sockets a program did not create itself.
#
# (a) systemd socket activation: a parent that is not under rebind makes
#     a listener without SO_REUSEADDR, passes it as fd 3 with LISTEN_FDS=1
#     and LISTEN_PID (the daemon's own pid), and execs a daemon under
#     rebind that only accept()s on fd 3.  rebind adopts the listener at
#     its first accept: under abort the accepted connections carry linger
#     {1,0} and leave no TIME_WAIT; under safe-abort clients read a clean
#     EOF and then, most of them, the reset; under the default policy the
#     connections' TIME_WAIT entries carry SO_REUSEADDR, so a new instance
#     under rebind binds the port at once, while after the same daemon
#     without rebind it cannot (the control; if it can, 99).
# (b) inetd: a parent not under rebind accepts a connection and runs a
#     child under rebind (safe-abort) with the connection as fd 0 and 1;
#     the parent closes its copy at once.  The child closes fd 0, writes
#     a reply to fd 1 and closes it: the client reads all of it and a
#     clean EOF, and the close is an ordinary one (TIME_WAIT stays):
#     rebind never saw that connection accepted, so it must not shut it
#     down or reset it.

. "$srcdir/tests/integration/lib.sh"

N=20
PY=$("$PYTHON3" -c 'import sys; print(sys.executable)') ||
	hard_error "cannot run $PYTHON3"

# activate.py PORT CMD...: a listener on 127.0.0.1:PORT as fd 3, without
# SO_REUSEADDR, then exec CMD with LISTEN_FDS=1.
cat >"$TMP/activate.py" <<'EOF'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.execvp(sys.argv[2], sys.argv[2:])
EOF

# daemon.py N [reuse|linger]: sd_listen_fds() by hand, optionally set
# SO_REUSEADDR=1 or SO_LINGER {0,0} on the listener itself, then serve N
# connections on fd 3 (never listen()).  Prints "ready PORT", then for
# each connection "conn reuseaddr=R linger=ON,SECS listener_reuseaddr=R".
cat >"$TMP/daemon.py" <<'EOF'
import os, socket, struct, sys
if os.environ.get("LISTEN_PID") != str(os.getpid()) or \
        os.environ.get("LISTEN_FDS") != "1":
    sys.exit("LISTEN_PID/LISTEN_FDS do not name this process")
ls = socket.socket(fileno=3)
own = sys.argv[2] if len(sys.argv) > 2 else ""
if own == "reuse":
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
elif own == "linger":
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 0, 0))
print("ready %d" % ls.getsockname()[1], flush=True)
for _ in range(int(sys.argv[1])):
    c, _ = ls.accept()
    c.recv(100)
    on, secs = struct.unpack("ii", c.getsockopt(socket.SOL_SOCKET,
                                                socket.SO_LINGER, 8))
    print("conn reuseaddr=%d linger=%d,%d listener_reuseaddr=%d" % (
        c.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR), on, secs,
        ls.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)), flush=True)
    c.sendall(b"x" * 300)
    c.close()
EOF

# activated NAME PORT [VAR=VALUE...]: the daemon, socket-activated on
# PORT, with VAR=VALUE (LD_PRELOAD among them) for the daemon only, and
# OWN (reuse, linger) for what it sets on the listener itself.
# LISTEN_PID must be the daemon's pid: sh sets it to its own, then every
# exec keeps the pid.
activated() {
	local name=$1 port=$2
	shift 2
	start "$name" "$PY" "$TMP/activate.py" "$port" \
		sh -c 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"' sh \
		env "$@" "$PY" "$TMP/daemon.py" $N ${OWN:-}
	wait_ready || fail "$name: daemon failed: $(cat "$SRV_ERR")"
}

# conns_ok WHAT LINE: every connection reported LINE.
conns_ok() {
	local got
	got=$(grep -c "^$2\$" "$SRV_OUT")
	[ "$got" -eq $N ] ||
		fail "$1: want $N connections with '$2', got:
$(grep '^conn' "$SRV_OUT" | sort | uniq -c)"
}

# restart_on PORT: 0 when legacy-server under rebind listens on PORT.
restart_on() {
	start restart env LD_PRELOAD="$SHIM_PRELOAD" "$LEGACY_SERVER" -p "$1"
	outcome "restart on $1" hard_error
	[ "$OUTCOME" = starts ]
}

# (a) abort: linger {1,0} on every connection accepted from fd 3, no
# TIME_WAIT.
activated abort "$(free_port)" LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=abort
port=$SRV_PORT
clients "$port" $N >"$TMP/abort.clients" ||
	fail "abort: clients: $(sort "$TMP/abort.clients" | uniq -c)"
server_done abort
conns_ok abort "conn reuseaddr=1 linger=1,0 listener_reuseaddr=1"
tw=$(tw_count "$port")
[ "$tw" -eq 0 ] || fail "abort: $tw TIME_WAIT entries on port $port, want 0"

# (a) abort, the program's own option on the inherited listener: it wins
# for that option only.  Its SO_REUSEADDR=1 still leaves rebind's linger
# to the connections; its SO_LINGER {0,0} stays, and the listener still
# gets rebind's SO_REUSEADDR (else its TIME_WAIT blocks the restart).
OWN=reuse activated abort_own_reuse "$(free_port)" \
	LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=abort
clients "$SRV_PORT" $N >"$TMP/own.clients" ||
	fail "abort, own SO_REUSEADDR: clients: $(sort "$TMP/own.clients" | uniq -c)"
server_done "abort, own SO_REUSEADDR"
conns_ok "abort, own SO_REUSEADDR" \
	"conn reuseaddr=1 linger=1,0 listener_reuseaddr=1"
OWN=linger activated abort_own_linger "$(free_port)" \
	LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=abort
clients "$SRV_PORT" $N --expect eof >"$TMP/own.clients" ||
	fail "abort, own SO_LINGER: clients: $(sort "$TMP/own.clients" | uniq -c)"
server_done "abort, own SO_LINGER"
conns_ok "abort, own SO_LINGER" \
	"conn reuseaddr=1 linger=0,0 listener_reuseaddr=1"

# (a) safe-abort: clean EOF for every client, then safe-abort's reset.
# The clients keep their socket open until it arrives (they would race
# it with their own FIN otherwise).  A close that finds the reply not
# yet acknowledged is an ordinary one (nothing lost, no reset), so only
# ask that most were reset; untracked connections would reset none.
activated safe "$(free_port)" LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort
port=$SRV_PORT
clients "$port" $N --bytes 300 --expect eof --await-reset 1 \
	>"$TMP/safe.clients" ||
	fail "safe-abort: clients: $(sort "$TMP/safe.clients" | uniq -c)"
server_done safe-abort
conns_ok safe-abort "conn reuseaddr=1 linger=0,0 listener_reuseaddr=1"
resets=$(grep -cx "ok 300 eof then-reset" "$TMP/safe.clients")
note "safe-abort: $resets of $N connections reset after a clean EOF"
[ "$resets" -gt $((N / 2)) ] ||
	fail "safe-abort: $resets of $N connections reset, want > $((N / 2))"

# (a) default policy, then a restart on the same port.  Control first:
# the same daemon without rebind leaves TIME_WAIT entries without
# SO_REUSEADDR, and the restart under rebind must fail.
activated control "$(free_port)"
port=$SRV_PORT
clients "$port" $N --expect eof >/dev/null ||
	hard_error "control: clients failed"
server_done control
conns_ok control "conn reuseaddr=0 linger=0,0 listener_reuseaddr=0"
wait_tw "$port" $N || hard_error "control: no TIME_WAIT on port $port"
restart_on "$port" &&
	hard_error "control: a restart on port $port succeeded despite" \
		"TIME_WAIT entries without SO_REUSEADDR:" \
		"this host proves nothing"

activated default "$(free_port)" LD_PRELOAD="$SHIM_PRELOAD"
port=$SRV_PORT
clients "$port" $N --bytes 300 --expect eof >"$TMP/default.clients" ||
	fail "default: clients: $(sort "$TMP/default.clients" | uniq -c)"
server_done default
conns_ok default "conn reuseaddr=1 linger=0,0 listener_reuseaddr=1"
wait_tw "$port" $N || fail "default: want $N TIME_WAIT entries on $port," \
	"got $(tw_count "$port")"
restart_on "$port" ||
	fail "default: restart on port $port failed: the TIME_WAIT" \
		"entries of connections accepted from an inherited" \
		"listener lack SO_REUSEADDR"

# (b) inetd.  inetd.py N CMD...: accept N connections, run CMD for each
# with the connection as fd 0 and 1, close the parent's copy at once.
cat >"$TMP/inetd.py" <<'EOF'
import os, socket, subprocess, sys
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.bind(("127.0.0.1", 0))
ls.listen(64)
print("ready %d" % ls.getsockname()[1], flush=True)
kids = []
for _ in range(int(sys.argv[1])):
    c, _ = ls.accept()
    kids.append(subprocess.Popen(sys.argv[2:], stdin=c.fileno(),
                                 stdout=c.fileno()))
    c.close()
sys.exit(max(k.wait() for k in kids))
EOF
# The child: read the request, close fd 0 (inetd programs often do),
# write 100000 bytes to fd 1, wait until the client has them all (so a
# reset would lose nothing and only TIME_WAIT can tell), close fd 1.
cat >"$TMP/inetd_child.py" <<'EOF'
import fcntl, os, struct, termios, time
while b"\n" not in os.read(0, 100):
    pass
os.close(0)
data = b"y" * 100000
while data:
    data = data[os.write(1, data):]
for _ in range(200):
    # SIOCOUTQ: bytes not yet acknowledged by the client
    if struct.unpack("i", fcntl.ioctl(1, termios.TIOCOUTQ, b"\0" * 4))[0] == 0:
        break
    time.sleep(0.01)
os.close(1)
os._exit(0)
EOF

start inetd "$PY" "$TMP/inetd.py" $N \
	env LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort \
	"$PY" "$TMP/inetd_child.py"
wait_ready || fail "inetd: failed: $(cat "$SRV_ERR")"
port=$SRV_PORT
clients "$port" $N --buffered --bytes 100000 --expect eof \
	>"$TMP/inetd.clients" ||
	fail "inetd: clients: $(sort "$TMP/inetd.clients" | uniq -c)"
server_done inetd
wait_tw "$port" $N ||
	fail "inetd: $(tw_count "$port") of $N connections left TIME_WAIT:" \
		"rebind reset connections it never saw accepted"
exit 0
