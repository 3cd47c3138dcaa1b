"""A Python socketserver daemon for the hold tests: one TCPServer per
port (socketserver leaves SO_REUSEADDR off), a line in, a line out.

Usage: sd_daemons.py HOST PORT [PORT...]
"""
import socketserver
import sys
import threading


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.rfile.readline(4096)
        self.wfile.write(b"hello from python\n")


def main():
    host = sys.argv[1]
    servers = []
    for port in sys.argv[2:]:
        cls = socketserver.TCPServer
        if ":" in host:
            cls = type("TCP6", (socketserver.TCPServer,),
                       {"address_family": __import__("socket").AF_INET6})
        servers.append(cls((host, int(port)), Handler))
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    servers[0].serve_forever()


main()
