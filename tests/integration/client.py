#!/usr/bin/env python3
"""Test client: connect, send one line, read the reply to the end, close.

The server closes first, so TIME_WAIT stays on the server side.  One line
per connection on stdout: "ok BYTES eof" or "ok BYTES reset" (a reset
after the data), or "error WHAT" when connecting or reading failed.
With --await-reset, "ok BYTES eof" is followed by " then-reset" or
" then-nothing": what the server sent after its FIN.
Exit status: 0 when every connection ended as --expect says.
"""
import argparse
import errno
import select
import socket
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--bytes", type=int, default=None,
                   help="expected reply size")
    p.add_argument("--buffered", action="store_true",
                   help="read through makefile().read(), as many "
                        "programs do; a reset then loses the reply")
    p.add_argument("--slow", action="store_true",
                   help="small receive buffer, read 64 KiB every 10 ms")
    p.add_argument("--expect", choices=["eof", "any"], default="any",
                   help="eof: a reset after the data counts as failure")
    p.add_argument("--await-reset", type=float, metavar="SECS",
                   help="after EOF, keep the socket open until the "
                        "server's reset arrives (SECS at most), so that "
                        "this client's FIN never races it")
    return p.parse_args()


def await_reset(sock, secs):
    """True when a reset arrives within SECS of the EOF already read.

    poll() with no events still reports POLLERR and POLLHUP: after the
    FIN alone neither is set, after a reset both are.  Linux records a
    reset that arrives after the FIN (in CLOSE_WAIT) as EPIPE.
    """
    # Acknowledge the FIN now rather than after the delayed-ACK timer
    # (about 40 ms): the reset answers that acknowledgement.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    p = select.poll()
    p.register(sock, 0)
    if not p.poll(secs * 1000):
        return False
    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    return err in (errno.EPIPE, errno.ECONNRESET)


def read_plain(sock, slow):
    got = 0
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return got, "reset"
        if not chunk:
            return got, "eof"
        got += len(chunk)
        if slow:
            time.sleep(0.01)


def read_buffered(sock):
    try:
        return len(sock.makefile("rb").read()), "eof"
    except ConnectionResetError:
        return 0, "reset"


def one(args):
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if args.slow:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sock.settimeout(20)
        sock.connect((args.host, args.port))
        sock.sendall(b"hello\n")
        if args.buffered:
            got, end = read_buffered(sock)
        else:
            got, end = read_plain(sock, args.slow)
        after = ""
        if args.await_reset is not None and end == "eof":
            reset = await_reset(sock, args.await_reset)
            after = " then-reset" if reset else " then-nothing"
    except OSError as e:
        return "error %s" % e.__class__.__name__, False
    finally:
        sock.close()
    good = (args.bytes is None or got == args.bytes) and \
        (args.expect == "any" or end == "eof")
    return "ok %d %s%s" % (got, end, after), good


def main():
    args = parse_args()
    status = 0
    for _ in range(args.count):
        line, good = one(args)
        print(line, flush=True)
        if not good:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
