#!/bin/bash
# A Python socketserver.TCPServer daemon (allow_reuse_address stays False;
# socketserver does shutdown(SHUT_WR) then close(), so the server closes
# first) is restarted on its port while TIME_WAIT entries hold it, over
# IPv4 and IPv6 (::1).  Without the shim the restart must fail with
# EADDRINUSE (else 99); under LD_PRELOAD and under the wrapper two restarts
# in a row must succeed.  Only the server runs under the shim, never the
# clients (client.py, also Python).

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

. "${srcdir:-.}/tests/integration/restart_lib.sh" || exit 99

# ready PORT on stdout once it listens; exit 2 when the port is taken.
cat >"$TMP/pyserver.py" <<'EOF'
import argparse
import errno
import socket
import socketserver
import sys

p = argparse.ArgumentParser()
p.add_argument("-a", default="127.0.0.1")
p.add_argument("-p", type=int, default=0)
args = p.parse_args()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.rfile.readline(4096)
        self.wfile.write(b"hello from pyserver\n")
        # socketserver then calls shutdown(SHUT_WR) and close(): the
        # server closes first and keeps the TIME_WAIT entry.


class Server(socketserver.TCPServer):
    address_family = socket.AF_INET6 if ":" in args.a else socket.AF_INET


assert Server.allow_reuse_address is False
try:
    srv = Server((args.a, args.p), Handler)
except OSError as e:
    print("pyserver: bind %s port %d: %s" % (args.a, args.p, e.strerror),
          file=sys.stderr, flush=True)
    sys.exit(2 if e.errno == errno.EADDRINUSE else 1)
print("ready %d" % srv.server_address[1], flush=True)
srv.serve_forever()
EOF

HOST=127.0.0.1
SERVER=("$PYTHON3" "$TMP/pyserver.py" -a "$HOST")
case_run "Python IPv4"

if have_ipv6; then
	HOST=::1
	SERVER=("$PYTHON3" "$TMP/pyserver.py" -a "$HOST")
	case_run "Python IPv6"
else
	note "NOT TESTED: IPv6 (::1 cannot be bound on this host); IPv4 passed"
fi
exit 0
