#!/usr/bin/env python3
"""bench/million.sh's measurement and report.

  million.py SOCKSCOPE RESULTS.md [SIZE ...]      (default 250000 500000 1000000)

Run inside a private network namespace (million.sh does it). For each size, widens the
ephemeral port range, holds a `sockscope lab farm` of that many sockets (half of them
established loopback connections, spread over enough workers for the 20,000-fd limit), and
measures each command's wall time (median of 3 runs; 1 for a peer that takes minutes) and
peak resident memory (/usr/bin/time). Peers that would run past 600 s are stopped and shown
as "> 600 s". The kernel's floor is the time of a bare sock_diag dump of the TCP sockets,
read and written to /dev/null (`-D /dev/null`). Writes the "A million sockets" section of
RESULTS.md, and each size's times to bench/raw/million/times.SIZE.json (hyperfine's JSON
shape), which bench/scaling.svg is drawn from beside bench/run.sh's.
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sections  # noqa: E402

S, RESULTS = sys.argv[1], sys.argv[2]
SIZES = [int(a) for a in sys.argv[3:]] or [250_000, 500_000, 1_000_000]
CAP = 600
RAW = os.path.join(os.path.dirname(os.path.abspath(__file__)), "raw", "million")
# Every run's seconds, by size, then command name: written for the scaling chart.
raw_times = {}


def measure(cmd, runs, name=None, size=None):
    """(median seconds, peak KiB), or (None, None) when it ran past CAP. With a name and a
    size, the runs' times are kept for the chart."""
    times, peak = [], 0
    for _ in range(runs):
        # A blocking wait, stopped by a timer past CAP: subprocess's own timeout polls with
        # growing sleeps, which rounded millisecond commands (`-s`) to 4 or 8 ms.
        t = time.perf_counter()
        r = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", "/tmp/million.rss", *cmd],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        stop = threading.Timer(CAP, lambda: os.killpg(r.pid, signal.SIGKILL))
        stop.start()
        r.wait()
        elapsed = time.perf_counter() - t
        stop.cancel()
        if elapsed >= CAP:
            return None, None
        times.append(elapsed)
        peak = max(peak, int(open("/tmp/million.rss").read().split()[-1]))
        if r.returncode not in (0, 1):
            print(f"warning: {' '.join(cmd)} exited {r.returncode}", file=sys.stderr)
    if name is not None:
        raw_times.setdefault(size, {})[name] = times
    return statistics.median(times), peak


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape_seconds(argv, url, runs=3):
    """Median time of one scrape of an exporter started with `argv` (stopped after)."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=CAP).read()
                break
            except OSError:
                time.sleep(0.2)
        times = []
        for _ in range(runs):
            # Past the exporter's cache: each scrape collects anew.
            time.sleep(1.1)
            t = time.perf_counter()
            urllib.request.urlopen(url, timeout=CAP).read()
            times.append(time.perf_counter() - t)
        return statistics.median(times)
    finally:
        p.terminate()
        p.wait()


def commit():
    """The commit measured, marked when the tree has changes besides bench/."""
    here = os.path.dirname(os.path.abspath(__file__))
    head = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--", ":(top)", ":(top,exclude)bench"],
                           capture_output=True, text=True)
    name = head.stdout.strip() or "an unknown commit"
    return name + (" with uncommitted changes" if dirty.stdout.strip() else "")


MEASURED = commit()
STARTED = time.strftime("%H:%M", time.gmtime())
subprocess.run(["sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000"], check=True)
rows = {}
tcp_counts = {}
for size in SIZES:
    farm, procs, tcp = sections.farm(S, size)
    tcp_counts[size] = tcp
    print(f"{size}: {procs} workers, {tcp} TCP sockets", file=sys.stderr)
    big = size == SIZES[-1]
    port = json.loads(subprocess.run([S, "-tlnH", "--json"], capture_output=True, text=True).stdout)["sockets"][0]["local"]["port"]
    cmds = [
        ("floor: bare TCP dump", [S, "-tan", "-D", "/dev/null"], 3),
        ("sockscope -tan", [S, "-tan"], 3),
        ("ss -tan", ["ss", "-tan"], 3),
        ("sockscope -tanp", [S, "-tanp"], 3),
        ("sockscope -tanp --json", [S, "-tanp", "--json"], 3),
        ("sockscope fds", [S, "fds"], 3),
        ("sockscope doctor", [S, "doctor", "--interval", "0"], 3),
        ("sockscope who :PORT (a farm listener)", [S, "who", f":{port}"], 3),
        ("sockscope record", [S, "record", "-o", "/tmp/million.cap", "--force", "--window", "0"], 3),
        ("sockscope -s", [S, "-s"], 5),
        ("ss -s", ["ss", "-s"], 5),
    ]
    if big:
        cmds += [("ss -tanp", ["ss", "-tanp"], 1), ("lsof -nP", ["lsof", "-nP"], 1)]
    for name, cmd, runs in cmds:
        rows.setdefault(name, {})[size] = measure(cmd, runs, name, size)
        print(f"  {name}: {rows[name][size]}", file=sys.stderr)
    if big:
        sport = free_port()
        rows.setdefault("sockscope serve, one scrape", {})[size] = (
            scrape_seconds([S, "serve", "--listen", f"127.0.0.1:{sport}"], f"http://127.0.0.1:{sport}/metrics"), None)
        ne = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
        if ne:
            nport = free_port()
            argv = [ne, f"--web.listen-address=127.0.0.1:{nport}", "--collector.disable-defaults", "--collector.tcpstat"]
            rows.setdefault("node_exporter tcpstat, one scrape", {})[size] = (
                scrape_seconds(argv, f"http://127.0.0.1:{nport}/metrics"), None)
    farm.terminate()
    farm.wait()
    os.makedirs(RAW, exist_ok=True)
    with open(os.path.join(RAW, f"times.{size}.json"), "w") as f:
        results = [{"command": n, "times": t} for n, t in raw_times.get(size, {}).items()]
        json.dump({"results": results}, f, indent=1)


def secs(v):
    return "> 600 s" if v is None else (f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s")


def mib(v):
    return "" if v is None else f"{v / 1024:.0f} MiB"


big = SIZES[-1]
lines = [
    "<!-- million: bench/million.sh -->",
    "## A million sockets",
    "",
    f"`bench/million.sh` (sizes {', '.join(f'{s:,}' for s in SIZES)}): a `sockscope lab farm` in a private namespace, "
    f"half of it established loopback connections ({', '.join(f'{tcp_counts[s]:,}' for s in SIZES)} TCP sockets), "
    f"over enough worker processes for the 20,000-fd limit; {os.cpu_count()} cores, kernel {os.uname().release}. "
    "Medians of 3 runs (5 for `-s`, 1 for the peers that take minutes, stopped at 600 s); peak RSS from /usr/bin/time. "
    "The floor is the kernel's own: a bare sock_diag dump of the TCP sockets, read and written to /dev/null.",
    "",
    "| command | " + " | ".join(f"{s:,}" for s in SIZES) + f" | peak at {big:,} | growth per doubling |",
    "|---|" + "---|" * len(SIZES) + "---|---|",
]
for name, by in rows.items():
    cells = [secs(by[s][0]) if s in by else "" for s in SIZES]
    known = [(s, by[s][0]) for s in SIZES if s in by and by[s][0]]
    growth = ""
    if len(known) >= 2 and known[0][1] > 0:
        import math
        doublings = math.log2(known[-1][0] / known[0][0])
        growth = f"{(known[-1][1] / known[0][1]) ** (1 / doublings):.2f}×" if doublings > 0 else ""
    lines.append(f"| `{name}` | " + " | ".join(cells) + f" | {mib(by.get(big, (None, None))[1])} | {growth} |")
lines.append("")


def ratio(a, b):
    x, y = rows.get(a, {}).get(big, (None, None))[0], rows.get(b, {}).get(big, (None, None))[0]
    if x is None or y is None:
        return "n/a" if x is None else f"< {x / CAP:.3f}× (the peer ran past {CAP} s)"
    return f"{x / y:.2f}×"


lines += [
    f"At {big:,}: `sockscope -tan` is {ratio('sockscope -tan', 'ss -tan')} `ss -tan`; "
    f"`sockscope -tanp` is {ratio('sockscope -tanp', 'ss -tanp')} `ss -tanp`; "
    f"`sockscope fds` is {ratio('sockscope fds', 'lsof -nP')} `lsof -nP`; "
    f"`sockscope -s` is {ratio('sockscope -s', 'ss -s')} `ss -s`; "
    f"`sockscope -tan` is {ratio('sockscope -tan', 'floor: bare TCP dump')} the floor.",
    f"Measured at {MEASURED} ({STARTED}–{time.strftime('%H:%M', time.gmtime())} UTC, "
    f"{time.strftime('%Y-%m-%d', time.gmtime())}).",
    "<!-- /million -->",
    "",
]
sections.replace(RESULTS, "million", "\n".join(lines))
print("\n".join(lines))
