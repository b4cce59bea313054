#!/usr/bin/env python3
"""bench/serve.sh's measurement and report, run inside a private network namespace.

  serve.py SOCKSCOPE RESULTS.md SOCKETS

Builds a farm of SOCKETS sockets (`sockscope lab farm`), starts `sockscope serve` and
node_exporter with only its tcpstat collector (`--collector.disable-defaults
--collector.tcpstat`), and times 10 scrapes of each (0.3 s apart, so every sockscope scrape
makes a new collection: --min-interval 0.1). Reports the medians, sockscope's series count
and the exporter's peak memory (VmHWM), and writes the "serve" section of RESULTS.md.
"""
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sections  # noqa: E402

SOCKSCOPE, RESULTS, SOCKETS = sys.argv[1], sys.argv[2], int(sys.argv[3])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(port, path="/metrics"):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    chunks = []
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        chunks.append(b)
    s.close()
    return b"".join(chunks).decode(errors="replace")


def timed(port, runs=10):
    times, body = [], ""
    for _ in range(runs):
        t = time.perf_counter()
        body = get(port)
        times.append(time.perf_counter() - t)
        time.sleep(0.3)
    return statistics.median(times), body


def wait_up(port):
    for _ in range(100):
        try:
            get(port, "/")
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers on {port}")


farm, procs, tcp = sections.farm(SOCKSCOPE, SOCKETS)
ours_port, node_port = free_port(), free_port()
ours = subprocess.Popen([SOCKSCOPE, "serve", "--listen", f"127.0.0.1:{ours_port}", "--min-interval", "0.1"],
                        stderr=subprocess.DEVNULL)
node = subprocess.Popen(["prometheus-node-exporter", "--collector.disable-defaults", "--collector.tcpstat",
                         f"--web.listen-address=127.0.0.1:{node_port}"], stderr=subprocess.DEVNULL)
try:
    wait_up(ours_port)
    wait_up(node_port)
    get(ours_port)  # the first collection reads every process's fd table
    ours_t, body = timed(ours_port)
    node_t, _ = timed(node_port)
    series = sum(1 for line in body.split("\r\n\r\n", 1)[1].splitlines() if line and not line.startswith("#"))
    hwm = 0
    for line in open(f"/proc/{ours.pid}/status"):
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
finally:
    for p in (ours, node, farm):
        p.terminate()
        p.wait()

ratio = ours_t / node_t
section = f"""<!-- serve: bench/serve.sh -->
## serve (issue 17)

One `/metrics` scrape over a `lab farm` of {tcp} TCP sockets ({procs} worker processes, private
namespace); medians of 10 scrapes 0.3 s apart (every sockscope scrape a new collection:
`--min-interval 0.1`). node_exporter from the distribution's package, tcpstat collector only.
Kernel {os.uname().release}, {os.cpu_count()} cores.

| | sockscope serve | node_exporter `--collector.tcpstat` | target |
|---|---|---|---|
| one scrape | {ours_t * 1000:.0f} ms | {node_t * 1000:.0f} ms | ≤ 0.2 s — **{'met' if ours_t <= 0.2 else 'not met'}**; ≤ 1.0× node_exporter — **{ratio:.2f}×, {'met' if ratio <= 1.0 else 'not met'}** |
| series | {series} | — | ≤ 2,000 — **{'met' if series <= 2000 else 'not met'}** |
| peak memory (VmHWM) | {hwm:.0f} MiB | — | ≤ 64 MiB — **{'met' if hwm <= 64 else 'not met'}** |

sockscope's scrape reads every socket with owners and tcp_info numbers, every process's fd
count and the doctor's rules; node_exporter's tcpstat counts sockets by state from netlink.
<!-- /serve -->
"""
sections.replace(RESULTS, "serve", section)
print(section)
