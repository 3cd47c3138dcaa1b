#!/bin/bash
# safe-abort resets only when the peer can lose nothing by it:
# (a) the peer has our FIN: a client whose socket filter drops the first
#     FIN it receives must still read the whole reply and a clean EOF
#     once the FIN is sent again, never "connection reset by peer";
# (b) the peer's program has seen the connection: a server that greets
#     and closes before the client looked at its non-blocking connect()
#     must leave the client connected, with the greeting to read;
# (c) with a round trip longer than the moment between the FIN and
#     close() (an emulated delay, where the kernel has sch_netem), the
#     reset still waits for the FIN's acknowledgement.
# Each against a control without rebind that must behave the same.

. "$srcdir/tests/integration/lib.sh"

N=5
REPLY=1000

# server.py reply|greet N REPLY: "ready PORT", then per connection: reply reads
# the request line and sends REPLY bytes, greet sends a greeting without
# reading; then close() and "closed" on stdout.
cat >"$TMP/server.py" <<'PY'
import socket, sys
mode, n = sys.argv[1], int(sys.argv[2])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
print("ready %d" % srv.getsockname()[1], flush=True)
for _ in range(n):
    c, _ = srv.accept()
    if mode == "reply":
        c.makefile("rb").readline()
        c.sendall(b"x" * int(sys.argv[3]))
    else:
        c.sendall(b"220 greetings\r\n")
    c.close()
    print("closed", flush=True)
PY

# fin.py N REPLY -- SERVER...: runs the server, then N clients that drop
# every FIN while the server closes, and let it in once close() has
# returned.  One line each: "eof BYTES dropped" (all read, FIN dropped,
# clean EOF after its retransmission), "reset ..." or "unfiltered ..."
# (the FIN got through: the filter did not work).
cat >"$TMP/fin.py" <<'PY'
import ctypes, socket, struct, subprocess, sys
SO_ATTACH_FILTER, SO_DETACH_FILTER = 26, 27
ESTABLISHED, CLOSE_WAIT = 1, 8
# Classic BPF; a TCP socket's filter sees each segment from its TCP
# header on (byte 13: the flags).
PROG = [(0x30, 0, 0, 13),          # ldb [13]
        (0x45, 0, 1, 0x01),        # jset #FIN: drop, else keep
        (0x06, 0, 0, 0),
        (0x06, 0, 0, 0xffffffff)]
code = ctypes.create_string_buffer(
    b"".join(struct.pack("HBBI", *i) for i in PROG))
fprog = struct.pack("HL", len(PROG), ctypes.addressof(code))
n, size = int(sys.argv[1]), int(sys.argv[2])
srv = subprocess.Popen(sys.argv[4:], stdout=subprocess.PIPE, text=True)
port = int(srv.stdout.readline().split()[1])
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    s.sendall(b"request\n")
    got = b""
    while len(got) < size:
        d = s.recv(size - len(got))
        if not d:
            break
        got += d
    assert srv.stdout.readline().strip() == "closed"
    state = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    s.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)
    try:
        end = s.recv(1)
        print("%s %d %s" % ("eof" if end == b"" else "data", len(got),
              "dropped" if state == ESTABLISHED else "unfiltered"))
    except OSError as e:
        print("reset after %d bytes: %s" % (len(got), e))
    s.close()
srv.wait(timeout=5)
PY

# greet.py N REPLY -- SERVER...: N clients connect without blocking and look at
# the connect only after the server closed (and 200 ms more, or until an
# error shows).  One line each: "connected GREETING eof" or "failed ERR".
cat >"$TMP/greet.py" <<'PY'
import errno, os, select, socket, subprocess, sys
n = int(sys.argv[1])
srv = subprocess.Popen(sys.argv[4:], stdout=subprocess.PIPE, text=True)
port = int(srv.stdout.readline().split()[1])
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    rc = s.connect_ex(("127.0.0.1", port))
    assert rc in (0, errno.EINPROGRESS), rc
    assert srv.stdout.readline().strip() == "closed"
    p = select.poll()
    p.register(s, 0)  # only POLLERR / POLLHUP: a reset ends the wait
    p.poll(200)
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        print("failed %s" % os.strerror(err))
    else:
        s.settimeout(5)
        f = s.makefile("rb")
        line = f.readline().strip().decode()
        print("connected %s %s" % (line.replace(" ", "_"),
              "eof" if f.read() == b"" else "more"))
    s.close()
srv.wait(timeout=5)
PY

# drive SCRIPT MODE WHAT VAR=VALUE...: SCRIPT's clients against the
# server in MODE, with VAR=VALUE for both; WANT must be every client's
# line, else ON_BAD (fail, or hard_error for a control) says so.
drive() {
	local script=$1 mode=$2 what=$3 out
	shift 3
	out=$(timeout 60 env "$@" "$PYTHON3" "$TMP/$script" $N $REPLY -- \
		"$PYTHON3" "$TMP/server.py" "$mode" $N $REPLY 2>&1) ||
		hard_error "$what: $out"
	[ "$(grep -cx "$WANT" <<<"$out")" -eq $N ] ||
		"$ON_BAD" "$what: want '$WANT' $N times, got:
$(sort <<<"$out" | uniq -c)"
}
CONTROL=${SANITIZER_RUNTIME:+LD_PRELOAD="$SANITIZER_RUNTIME"}
UNDER=(LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort)

WANT="eof $REPLY dropped"
ON_BAD=hard_error drive fin.py reply "(a) control" $CONTROL
ON_BAD=fail drive fin.py reply "(a) FIN lost" "${UNDER[@]}"

WANT="connected 220_greetings eof"
ON_BAD=hard_error drive greet.py greet "(b) control" $CONTROL
ON_BAD=fail drive greet.py greet "(b) greeting" "${UNDER[@]}"

# (c) In a network namespace of our own, loopback with 20 ms each way:
# the FIN is still in flight when close() returns; every client must
# still read all and a clean EOF before the reset, and no TIME_WAIT may
# be left (the kernel resets once the FIN is acknowledged).
netem() {
	unshare -rn bash -c 'ip link set lo up &&
		tc qdisc add dev lo root netem delay 20ms' >"$TMP/netem.err" 2>&1
}
if ! netem; then
	note "SKIP (c) delayed network: no sch_netem here ($(head -n 1 "$TMP/netem.err"))"
	exit 0
fi
OUT=$(timeout 60 unshare -rn bash -c '
	ip link set lo up && tc qdisc add dev lo root netem delay 20ms || exit 99
	env LD_PRELOAD="$1" REBIND_LINGER=safe-abort "$2" "$3" reply 10 1000 \
		>"$4/delayed.out" &
	for _ in $(seq 500); do
		grep -q ready "$4/delayed.out" && break
		sleep 0.02
	done
	port=$(sed -n "s/^ready //p" "$4/delayed.out")
	"$2" "$5" --port "$port" --count 10 --bytes 1000 --expect eof \
		--await-reset 2 || exit 1
	wait
	"$2" "$6" "$port" --state TIME_WAIT' _ "$SHIM_PRELOAD" "$PYTHON3" \
	"$TMP/server.py" "$TMP" "$CLIENT" "$TCPSTATE" 2>&1) ||
	fail "(c) delayed network: $OUT"
[ "$(grep -cx "ok 1000 eof then-reset" <<<"$OUT")" -eq 10 ] &&
	[ "$(tail -n 1 <<<"$OUT")" = 0 ] ||
	fail "(c) delayed network: want 10 clean EOFs, each then reset, and" \
		"no TIME_WAIT, got: $OUT"
exit 0
