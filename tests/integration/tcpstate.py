#!/usr/bin/env python3
"""Count TCP sockets by local port and state, from the kernel's sock_diag.

The tests' own view of the kernel's sockets, so that they depend neither
on ss (which can print spurious errors) nor on the rebind code they test.

  tcpstate.py PORT                  one line "STATE COUNT" per state
  tcpstate.py PORT --state STATE    the count only (0 when none)

--local ADDR counts only sockets bound to that address (127.0.0.2, ::1).

The kernel filters by port (an inet_diag bytecode), so the answer is a
handful of sockets in one message.  /proc/net/tcp lists every socket on
the host a page per read(), and a socket that comes or goes between two
reads can shift the rest: a line read twice, or not at all, while other
tests run.
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

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
INET_DIAG_REQ_BYTECODE = 1
INET_DIAG_BC_S_GE, INET_DIAG_BC_S_LE = 2, 3

NLMSGHDR = struct.Struct("=IHHII")
# inet_diag_req_v2: family, protocol, ext, pad, states, then the 48-byte
# inet_diag_sockid (zero: no socket named).
REQ = struct.Struct("=BBBxI48x")
NLATTR = struct.Struct("=HH")
BC_OP = struct.Struct("=BBH")
# inet_diag_msg, in network byte order: family, state, timer, retrans,
# sport, dport, src and dst (16 bytes each), then what we do not read.
MSG = struct.Struct("!BBBBHH16s16s")


def port_filter(port):
    """Bytecode: local port >= port, then <= port; anything else fails."""
    ops = [(INET_DIAG_BC_S_GE, 8, 20), (0, 0, port),
           (INET_DIAG_BC_S_LE, 8, 12), (0, 0, port)]
    return b"".join(BC_OP.pack(*op) for op in ops)


def request(family, port):
    bc = port_filter(port)
    body = REQ.pack(family, socket.IPPROTO_TCP, 0, 0xFFFFFFFF)
    attr = NLATTR.pack(NLATTR.size + len(bc), INET_DIAG_REQ_BYTECODE) + bc
    size = NLMSGHDR.size + len(body) + len(attr)
    head = NLMSGHDR.pack(size, SOCK_DIAG_BY_FAMILY,
                         NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    return head + body + attr


def sockets(port):
    """(local address, state name) of every TCP socket on local port."""
    for family, alen in ((socket.AF_INET, 4), (socket.AF_INET6, 16)):
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                           NETLINK_SOCK_DIAG) as nl:
            nl.sendall(request(family, port))
            done = False
            while not done:
                data = nl.recv(1 << 20)
                off = 0
                while off + NLMSGHDR.size <= len(data):
                    size, kind = NLMSGHDR.unpack_from(data, off)[:2]
                    if kind == NLMSG_DONE:
                        done = True
                        break
                    if kind == NLMSG_ERROR:
                        err = struct.unpack_from("=i", data,
                                                 off + NLMSGHDR.size)[0]
                        if err == 0:  # an acknowledgement
                            done = True
                            break
                        raise OSError(-err, "sock_diag dump failed")
                    fam, state, _, _, _, _, src, _ = MSG.unpack_from(
                        data, off + NLMSGHDR.size)
                    yield (socket.inet_ntop(fam, src[:alen]),
                           STATES.get(state, str(state)))
                    off += (size + 3) & ~3


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("port", type=int)
    p.add_argument("--state", help="print only the count in this state")
    p.add_argument("--local", help="only sockets bound to this address")
    args = p.parse_args()
    if args.state and args.state not in STATES.values():
        p.error("unknown state %s" % args.state)
    counts = {}
    for addr, state in sockets(args.port):
        if args.local in (None, addr):
            counts[state] = counts.get(state, 0) + 1
    if args.state:
        print(counts.get(args.state, 0))
    else:
        for state in sorted(counts):
            print(state, counts[state])
    return 0


if __name__ == "__main__":
    sys.exit(main())
