"""A Python socketserver daemon for the hold tests: one TCPServer per
port (socketserver leaves SO_REUSEADDR off), a line in, a line out.

Usage: sd_daemons.py [--shutdown-on-term] HOST PORT [PORT...]
--shutdown-on-term: on SIGTERM, shutdown(SHUT_RDWR) the listeners and
exit, as some daemons do to wake their accept() threads.
"""
import signal
import socket
import socketserver
import sys
import threading


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.rfile.readline(4096)
        self.wfile.write(b"hello from python\n")


def main():
    args = sys.argv[1:]
    shut = args[0] == "--shutdown-on-term"
    if shut:
        args = args[1:]
    host = args[0]
    servers = []
    for port in args[1:]:
        cls = socketserver.TCPServer
        if ":" in host:
            cls = type("TCP6", (socketserver.TCPServer,),
                       {"address_family": socket.AF_INET6})
        servers.append(cls((host, int(port)), Handler))
    if shut:
        def on_term(signum, frame):
            for s in servers:
                s.socket.shutdown(socket.SHUT_RDWR)
            sys.exit(0)
        signal.signal(signal.SIGTERM, on_term)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    servers[0].serve_forever()


main()
