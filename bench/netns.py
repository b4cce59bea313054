#!/usr/bin/env python3
"""bench/netns.sh's measurement and report.

  netns.py SOCKSCOPE RESULTS.md

Makes 200 named network namespaces holding 100 listening TCP sockets each, and one named
namespace holding the same 20,000 sockets (two processes: the fd limit is 20,000), then times
`sockscope -tan --all-netns` against `sockscope -tan -N big` (one namespace, the same number
of sockets), medians of 10 runs each, and writes the "Network namespaces" section of
RESULTS.md. Removes every namespace and process it made.
"""
import os
import statistics
import subprocess
import sys
import time

SOCKSCOPE, RESULTS = sys.argv[1], sys.argv[2]
N, PER = 200, 100
PREFIX = f"ssbench{os.getpid()}"
HOLD = """
import resource, socket, sys, time
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
held = []
for _ in range(n):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    held.append(s)
print("ready", flush=True)
time.sleep(3600)
"""


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def hold(ns, n):
    p = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", HOLD, str(n)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def median_time(args, runs=10):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(args, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out.stdout


names, procs = [], []
try:
    for i in range(N):
        name = f"{PREFIX}-{i}"
        sh("ip", "netns", "add", name)
        names.append(name)
        sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        procs.append(hold(name, PER))
    big = f"{PREFIX}-big"
    sh("ip", "netns", "add", big)
    names.append(big)
    sh("ip", "netns", "exec", big, "ip", "link", "set", "lo", "up")
    procs += [hold(big, N * PER // 2), hold(big, N * PER // 2)]
    all_t, all_out = median_time([SOCKSCOPE, "-tanH", "--all-netns"])
    one_t, one_out = median_time([SOCKSCOPE, "-tanH", "-N", big])
    all_rows, one_rows = len(all_out.splitlines()), len(one_out.splitlines())
    ratio = all_t / one_t
    section = f"""<!-- netns: bench/netns.sh -->
## Network namespaces (issue 15)

{N} named namespaces holding {PER} listening TCP sockets each, beside one namespace holding
{N * PER} (plus the namespaces the host already had); medians of 10 runs. Kernel
{os.uname().release}, {os.cpu_count()} cores.

| command | rows | time |
|---|---|---|
| `sockscope -tanH -N big` (one namespace, {N * PER} sockets) | {one_rows} | {one_t * 1000:.0f} ms |
| `sockscope -tanH --all-netns` (every namespace: the {N} small ones, big, the host's) | {all_rows} | {all_t * 1000:.0f} ms |

Targets (issue 15): `--all-netns` over {N} namespaces at most 2× one namespace of the same
sockets — **{ratio:.2f}×, {'met' if ratio <= 2 else 'not met'}** (here it also reads big's
{N * PER}, so it reads twice the sockets); at most 0.3 s — **{all_t:.3f} s,
{'met' if all_t <= 0.3 else 'not met'}**. The kernel's TCP hash tables are shared by every
namespace, so each namespace's sock_diag dump walks all of them, once for IPv4 and once for
IPv6: {N} namespaces make {2 * N} walks of the whole host's table (measured apart: with
18,000 listeners in another namespace, an empty namespace takes 3.25 ms with both families
and 2.36 ms with IPv4 alone, so one walk costs 0.9 ms). The namespaces are read on as many
threads as there are cores.
<!-- /netns -->
"""
finally:
    for p in procs:
        p.kill()
        p.wait()
    for n in names:
        subprocess.run(["ip", "netns", "del", n])
text = open(RESULTS).read() if os.path.exists(RESULTS) else ""
start, end = "<!-- netns: bench/netns.sh -->", "<!-- /netns -->\n"
if start in text:
    a = text.index(start)
    text = text[:a] + section + text[text.index(end, a) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + section
open(RESULTS, "w").write(text)
print(section)
