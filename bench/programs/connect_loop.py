"""The loop an independent check of issue 30 timed: N connections over loopback, each
socket, connect, accept, a 64-byte send and recv, two closes. `python3 connect_loop.py N`."""
import socket, sys
n = int(sys.argv[1])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 0)); l.listen(128)
addr = l.getsockname()
for _ in range(n):
    c = socket.socket(); c.connect(addr)
    s, _ = l.accept()
    c.sendall(b"x" * 64); s.recv(64)
    s.close(); c.close()
