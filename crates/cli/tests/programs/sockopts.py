"""Sets known options on known sockets, for tests/sockopts.rs; each socket on its own port.

Prints one JSON line: {"pid": …, "fds": {"name": fd, …}}. Then waits for a line on stdin
and checks every socket still works (connects to the listeners, sends and receives on the
connections); prints "alive" when they do.
"""
import json
import os
import socket
import struct
import sys

BASE = int(sys.argv[1])
S, T = socket.SOL_SOCKET, socket.IPPROTO_TCP
made = {}


def listener(name, port, opts=(), family=socket.AF_INET, addr="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    for level, opt, value in opts:
        s.setsockopt(level, opt, value)
    s.bind((addr, port))
    s.listen(16)
    made[name] = s
    return s


listener("reuseaddr", BASE, [(S, socket.SO_REUSEADDR, 1)])
listener("plain", BASE + 1)
listener("reuseport_a", BASE + 2, [(S, socket.SO_REUSEPORT, 1)])
listener("reuseport_b", BASE + 2, [(S, socket.SO_REUSEPORT, 1)])
listener("v6only", BASE + 3, [(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)], socket.AF_INET6, "::1")
listener("deferred", BASE + 4, [(T, socket.TCP_DEFER_ACCEPT, 5), (T, socket.TCP_FASTOPEN, 7)])

# A connection with everything set on the client side, to the plain listener.
c = socket.socket()
c.setsockopt(S, socket.SO_KEEPALIVE, 1)
c.setsockopt(T, socket.TCP_KEEPIDLE, 33)
c.setsockopt(T, socket.TCP_KEEPINTVL, 7)
c.setsockopt(T, socket.TCP_KEEPCNT, 4)
c.setsockopt(T, socket.TCP_NODELAY, 1)
c.setsockopt(S, socket.SO_LINGER, struct.pack("ii", 1, 5))
c.setsockopt(S, socket.SO_RCVBUF, 12345)
c.setsockopt(S, socket.SO_SNDBUF, 23456)
c.setsockopt(T, socket.TCP_USER_TIMEOUT, 4321)
c.setsockopt(T, socket.TCP_CONGESTION, b"reno")
c.setsockopt(S, socket.SO_RCVLOWAT, 3)
c.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x10)
c.setsockopt(S, socket.SO_PRIORITY, 5)
if os.geteuid() == 0:  # SO_MARK needs CAP_NET_ADMIN
    c.setsockopt(S, socket.SO_MARK, 0x2A)
c.setsockopt(socket.IPPROTO_IP, 15, 1)  # IP_FREEBIND
c.setsockopt(S, socket.SO_BINDTODEVICE, b"lo")
c.bind(("127.0.0.1", BASE + 5))
c.connect(("127.0.0.1", BASE + 1))
c.setblocking(False)
made["client"] = c
peer, _ = made["plain"].accept()
made["accepted"] = peer

print(json.dumps({"pid": os.getpid(), "fds": {k: v.fileno() for k, v in made.items()}}), flush=True)
sys.stdin.readline()

# Still working: the connection carries bytes both ways, and the listeners accept.
c.setblocking(True)
c.sendall(b"ping")
assert peer.recv(4) == b"ping"
peer.sendall(b"pong")
assert c.recv(4) == b"pong"
for name, port, family, addr in [("reuseaddr", BASE, socket.AF_INET, "127.0.0.1"),
                                 ("v6only", BASE + 3, socket.AF_INET6, "::1")]:
    x = socket.socket(family)
    x.connect((addr, port))
    made[name].accept()[0].close()
    x.close()
print("alive", flush=True)
