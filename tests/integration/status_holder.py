#!/usr/bin/env python3
"""Hold TCP sockets on one port in the states status.sh asks about.

  status_holder.py PORT SPEC...

Each SPEC is KIND:ADDR:REUSE (REUSE is "reuse" or "noreuse": the socket's
SO_REUSEADDR; an IPv6 ADDR is written without brackets):

  bound:ADDR:REUSE    bound, neither listening nor connected
  bound6only:ADDR:REUSE   the same, IPv6 with IPV6_V6ONLY
  listen:ADDR:REUSE   a listener
  estab:ADDR:REUSE    a listener that accepted two connections, closed the
                      first itself (a TIME_WAIT entry on PORT once the
                      client closes too) and then its listening socket; the
                      second connection stays open, as a daemon's forked
                      child would keep it after the daemon stopped
  many:N              N listeners on 127.0.0.1 .. 127.0.0.N with
                      SO_REUSEADDR, then the flag cleared on the one that
                      comes last in the kernel's dump

Prints "ready PORT" (and for many: "last ADDR") once all are in place,
then holds them until a signal ends it.
"""
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tcpstate  # noqa: E402  (the tests' own sock_diag reader)

KEEP = []


def make(addr, reuse, v6only=None):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, reuse)
    KEEP.append(s)
    return s


def estab(addr, port, reuse):
    lst = make(addr, reuse)
    lst.bind((addr, port))
    lst.listen(8)
    conns = []
    for _ in range(2):
        c = socket.create_connection((addr, port))
        KEEP.append(c)
        conns.append((c, lst.accept()[0]))
    first_client, first_server = conns[0]
    first_server.close()  # the server closes first: TIME_WAIT on PORT
    first_client.close()
    KEEP.append(conns[1][1])
    lst.close()


def many(n, port):
    lsts = {}
    for i in range(1, n + 1):
        addr = "127.0.0.%d" % i
        s = make(addr, 1)
        s.bind((addr, port))
        s.listen(8)
        lsts[addr] = s
    order = [a for a, st in tcpstate.sockets(port) if st == "LISTEN"]
    last = order[-1]
    lsts[last].setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    return last


def main():
    port = int(sys.argv[1])
    extra = []
    for spec in sys.argv[2:]:
        kind, rest = spec.split(":", 1)
        if kind == "many":
            extra.append("last " + many(int(rest), port))
            continue
        addr, reuse = rest.rsplit(":", 1)
        reuse = 1 if reuse == "reuse" else 0
        if kind == "estab":
            estab(addr, port, reuse)
            continue
        s = make(addr, reuse, 1 if kind == "bound6only" else
                 (0 if ":" in addr else None))
        s.bind((addr, port))
        if kind == "listen":
            s.listen(8)
    print("ready %d" % port)
    for line in extra:
        print(line)
    sys.stdout.flush()
    while True:
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
