#!/usr/bin/env python3
"""bench/shapes.sh's measurement and report.

  shapes.py SOCKSCOPE RESULTS.md [SOCKETS]        (default 200000)

Run inside a private network namespace (shapes.sh does it). Builds, one after the other,
hosts of the same number of sockets in different shapes, and records each command's peak
resident memory (/usr/bin/time) and wall time (one run) on each:

- few processes, many sockets: `sockscope lab farm` (18,000 sockets a worker);
- both ends in one process: loopback connections whose two ends one process holds, in 12;
- many processes, few sockets: N/100 processes of 100 sockets;
- pre-forked servers: up to 1,500 processes sharing one listener, with the connections
  spread over them (more forks of a Python server than that failed here);
- Unix-heavy: socketpairs only;
- passed sockets: every connection also held by a second process (fds inherited).

Writes the "Host shapes" section of RESULTS.md.
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sections  # noqa: E402

import json

ONE = sys.argv[1] == "--one"
if ONE:
    # `--one INDEX SOCKSCOPE N`: one shape, in the fresh namespace this was started in.
    INDEX, S, N = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
else:
    S, RESULTS = sys.argv[1], sys.argv[2]
    N = int(sys.argv[3]) if len(sys.argv) > 3 else 200_000

# A holder process: makes its share, says "ready", then waits for stdin to close. `kind`:
# pairs (loopback connections to the shared listener), unix (socketpairs). With `share`,
# it forks once after making them, so a second process holds every fd too.
HOLDER = r"""
import os, socket, sys, resource
kind, count, share = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
resource.setrlimit(resource.RLIMIT_NOFILE, (19500, 20000))
held = []
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(4096); held.append(listener)
port = listener.getsockname()[1]
if kind == "pairs":
    for _ in range(count // 2):
        c = socket.create_connection(("127.0.0.1", port)); a, _ = listener.accept(); held += [c, a]
elif kind == "unix":
    for _ in range(count // 2):
        held += list(socket.socketpair())
if share and os.fork() == 0:
    sys.stdin.read(); os._exit(0)
print("ready", port, flush=True)
sys.stdin.read()
"""

# Many processes: `procs` children of one parent, each with `per` sockets in loopback pairs,
# to its own listener or (`shared`) to the one listener they all hold, as pre-forked servers
# do. A child that fails says so (the parent then exits), never leaving the parent waiting.
FORKED = r"""
import os, socket, sys, resource
procs, per, shared = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
resource.setrlimit(resource.RLIMIT_NOFILE, (19500, 20000))
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(4096)
r, w = os.pipe()
for i in range(procs):
    if os.fork() == 0:
        os.close(r)
        try:
            own = listener if shared else socket.socket()
            if not shared:
                listener.close(); own.bind(("127.0.0.1", 0)); own.listen(4096)
            # Each child connects from its own loopback address: 100k connections to one
            # listener from one address would need more ports than there are.
            source = (f"127.1.{i // 250}.{i % 250 + 1}", 0)
            held = []
            for _ in range(per // 2):
                c = socket.create_connection(own.getsockname(), source_address=source)
                a, _ = own.accept(); held += [c, a]
            os.write(w, b"x")
        except Exception as e:
            sys.stderr.write(f"a child failed: {e!r}\n"); os.write(w, b"e"); os._exit(1)
        sys.stdin.read(); os._exit(0)
os.close(w)
got = b""
while len(got) < procs:
    chunk = os.read(r, 4096)
    if not chunk:
        break
    got += chunk
if got.count(b"x") != procs:
    sys.exit(f"only {got.count(b'x')} of {procs} children made their sockets")
print("ready", listener.getsockname()[1], flush=True)
sys.stdin.read()
"""

PORTS = []


def start(script, *args):
    """A holder, once ready; its listener's port goes to PORTS."""
    p = subprocess.Popen([sys.executable, "-c", script, *map(str, args)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    word, port = p.stdout.readline().split()
    assert word == "ready", "a holder failed"
    PORTS.append(int(port))
    return p


def holders(kind, total, per, share=False):
    return [start(HOLDER, kind, per, "1" if share else "0") for _ in range(max(1, total // per))]


def stop(procs):
    for p in procs:
        p.stdin.close()
    for p in procs:
        p.wait()


SHAPES = [
    ("few processes, many sockets (lab farm)", lambda: [sections.farm(S, N)[0]]),
    ("both ends in one process, 12 processes", lambda: holders("pairs", N, N // 12)),
    (f"{N // 100:,} processes of 100 sockets", lambda: [start(FORKED, N // 100, 100, "0")]),
    (f"{min(1500, N // 100):,} pre-forked servers sharing one listener",
     lambda: [start(FORKED, min(1500, N // 100), N // min(1500, N // 100), "1")]),
    ("Unix socketpairs only", lambda: holders("unix", N, 18_000)),
    ("every connection held by two processes", lambda: holders("pairs", N, 18_000, share=True)),
]
COMMANDS = [
    ("-tan", ["-tan"]),
    ("-tanp", ["-tanp"]),
    ("-tanp --json", ["-tanp", "--json"]),
    ("-xap", ["-xap"]),
    ("fds", ["fds"]),
    ("fds -o", ["fds", "-o"]),
    ("fds --json", ["fds", "--json"]),
    ("doctor", ["doctor", "--interval", "0"]),
    ("who :PORT", ["who", "PORT"]),
    ("record", ["record", "-o", "/tmp/shapes.cap", "--force", "--window", "0"]),
]

def one_shape(index):
    """Builds shape `index` here, measures every command, stops it; returns its row."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000"], check=True)
    name, make = SHAPES[index]
    PORTS.clear()
    procs = make()
    port = PORTS[0] if PORTS else json.loads(
        subprocess.run([S, "-tlnH", "--json"], capture_output=True, text=True).stdout)["sockets"][0]["local"]["port"]
    total = int(subprocess.run(["sh", "-c", "ss -anH | wc -l"], capture_output=True, text=True).stdout)
    row = []
    for _, args in COMMANDS:
        args = [f":{port}" if a == "PORT" else a for a in args]
        t = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", "/tmp/shapes.rss", S, *args],
                           stdout=open("/dev/null", "w"), stderr=subprocess.PIPE, text=True)
        if r.returncode not in (0, 1):
            print(f"warning: sockscope {' '.join(args)}: {r.stderr.strip()[-300:]}", file=sys.stderr)
        row.append((time.perf_counter() - t, int(open("/tmp/shapes.rss").read().split()[-1])))
    for p in procs:
        if getattr(p, "stdin", None):
            stop([p])
        else:
            p.terminate()
            p.wait()
    return name, total, row


if ONE:
    print(json.dumps(one_shape(INDEX)))
    sys.exit(0)
table = []
for i in range(len(SHAPES)):
    # Each shape in a namespace of its own: no TIME-WAIT left by the one before.
    out = subprocess.run(["unshare", "-n", sys.executable, __file__, "--one", str(i), S, str(N)],
                         capture_output=True, text=True, check=True).stdout
    name, total, row = json.loads(out)
    print(name, total, row, file=sys.stderr)
    table.append((name, total, row))

lines = [
    "<!-- shapes: bench/shapes.sh -->",
    "## Host shapes",
    "",
    f"`bench/shapes.sh` ({N:,} sockets in each shape, one shape at a time in a private namespace; "
    f"{os.cpu_count()} cores, kernel {os.uname().release}). Peak RSS in MiB (one run; time in seconds beside it). "
    "The goal: every command at or under 64 MiB in every shape.",
    "",
    "| shape | sockets | " + " | ".join(f"`{c}`" for c, _ in COMMANDS) + " |",
    "|---|---|" + "---|" * len(COMMANDS),
]
for name, total, row in table:
    cells = [f"{kib / 1024:.0f} ({secs:.2f} s)" for secs, kib in row]
    lines.append(f"| {name} | {total:,} | " + " | ".join(cells) + " |")
lines += ["<!-- /shapes -->", ""]
sections.replace(RESULTS, "shapes", "\n".join(lines))
print("\n".join(lines))
