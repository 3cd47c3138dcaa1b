#!/usr/bin/env python3
"""Count TCP sockets by local port and state, from /proc/net/tcp{,6}.

The tests' own view of the kernel's sockets, so that they depend neither
on ss (which can print spurious errors) nor on the rebind code they test.

  tcpstate.py PORT                  one line "STATE COUNT" per state
  tcpstate.py PORT --state STATE    the count only (0 when none)

--local ADDR counts only sockets bound to that address (127.0.0.2, ::1).
"""
import argparse
import socket
import struct
import sys

STATES = {
    0x01: "ESTABLISHED", 0x02: "SYN_SENT", 0x03: "SYN_RECV",
    0x04: "FIN_WAIT1", 0x05: "FIN_WAIT2", 0x06: "TIME_WAIT",
    0x07: "CLOSE", 0x08: "CLOSE_WAIT", 0x09: "LAST_ACK",
    0x0A: "LISTEN", 0x0B: "CLOSING", 0x0C: "NEW_SYN_RECV",
}


def address(text):
    """The kernel prints the address as 32-bit words in host order."""
    raw = b"".join(struct.pack("=I", int(text[i:i + 8], 16))
                   for i in range(0, len(text), 8))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, raw)


def sockets():
    """(local address, local port, state name) of every TCP socket."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                rows = f.read().splitlines()[1:]
        except FileNotFoundError:  # no IPv6 in this kernel
            continue
        for row in rows:
            fields = row.split()
            addr, port = fields[1].split(":")
            state = int(fields[3], 16)
            yield address(addr), int(port, 16), STATES.get(state, str(state))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("port", type=int)
    p.add_argument("--state", help="print only the count in this state")
    p.add_argument("--local", help="only sockets bound to this address")
    args = p.parse_args()
    if args.state and args.state not in STATES.values():
        p.error("unknown state %s" % args.state)
    counts = {}
    for addr, port, state in sockets():
        if port == args.port and args.local in (None, addr):
            counts[state] = counts.get(state, 0) + 1
    if args.state:
        print(counts.get(args.state, 0))
    else:
        for state in sorted(counts):
            print(state, counts[state])
    return 0


if __name__ == "__main__":
    sys.exit(main())
