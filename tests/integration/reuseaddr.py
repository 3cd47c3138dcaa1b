# Prints 1 or 0: whether a new listener on 127.0.0.1 has SO_REUSEADDR,
# as the program sees it (1 under the shim, 0 without).
import socket

s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR))
