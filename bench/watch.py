#!/usr/bin/env python3
"""bench/watch.sh's measurement and report, run inside a private network namespace.

  watch.py SOCKSCOPE RESULTS.md SOCKETS

From 500,000 sockets on (issue 33's million), the peer is not run (one `ss -tanp` takes
longer than 600 s there), the targets are the large host's (a key answered within 200 ms, at
most one core, the interval lengthened by itself and said on screen), and the section
written is "watch_million".

Builds a farm of SOCKETS sockets (`sockscope lab farm`), then:

- runs `sockscope watch --interval 1` in a pseudo-terminal (200x50) for 30 s after a 5 s
  warm-up and reads its CPU time (utime+stime from /proc/PID/stat) and peak memory (VmHWM);
- sends 20 keys (Tab, Shift-Tab), each at a random moment, and times how long until the
  terminal receives the redraw (the first output after the key);
- runs the peer, `ss -tanp` once a second for 30 s (what `watch -n1 ss -tanp` does), and reads
  its CPU time.

Writes the "watch" section of RESULTS.md.
"""
import fcntl
import os
import pty
import random
import select
import statistics
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sections  # noqa: E402
import termios
import time

SOCKSCOPE, RESULTS, SOCKETS = sys.argv[1], sys.argv[2], int(sys.argv[3])
TICK = os.sysconf("SC_CLK_TCK")
SECONDS = 30
LARGE = SOCKETS >= 500_000


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def hwm_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def drain(fd, timeout):
    """Reads what the terminal got within `timeout`; returns (bytes, seconds to first byte)."""
    got, first, start = b"", None, time.perf_counter()
    while True:
        left = timeout - (time.perf_counter() - start)
        if left <= 0:
            return got, first
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return got, first
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return got, first
        if first is None:
            first = time.perf_counter() - start
        got += chunk
        # Once output started, a short quiet gap ends the redraw.
        timeout = min(timeout, (time.perf_counter() - start) + 0.02)


class Screen:
    """The 200x50 terminal as the bytes written to it leave it: text at the cursor, and the
    cursor moves of CSI H; other escapes (colours, clearing) are skipped. ratatui writes only
    the cells that changed, so a phrase is looked for on the screen, not in the bytes."""

    def __init__(self, rows=50, cols=200):
        self.rows, self.cols = rows, cols
        self.grid = [[" "] * cols for _ in range(rows)]
        self.r = self.c = 0
        self.seen = set()

    def feed(self, data):
        text, i = data.decode("utf-8", "replace"), 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b" and i + 1 < len(text) and text[i + 1] == "[":
                j = i + 2
                while j < len(text) and not ("@" <= text[j] <= "~"):
                    j += 1
                if j < len(text) and text[j] == "H":
                    parts = (text[i + 2:j].split(";") + ["", ""])[:2]
                    self.r = max(0, min(self.rows - 1, int(parts[0] or 1) - 1))
                    self.c = max(0, min(self.cols - 1, int(parts[1] or 1) - 1))
                elif j < len(text) and text[j] == "J" and text[i + 2:j] in ("2", "3"):
                    self.grid = [[" "] * self.cols for _ in range(self.rows)]
                i = j + 1
            elif ch == "\x1b":
                i += 2
            elif ch == "\r":
                self.c, i = 0, i + 1
            elif ch == "\n":
                self.r, i = min(self.rows - 1, self.r + 1), i + 1
            elif ch >= " ":
                if self.c < self.cols:
                    self.grid[self.r][self.c] = ch
                self.c, i = self.c + 1, i + 1
            else:
                i += 1

    def shows(self, phrase):
        return any(phrase in "".join(row) for row in self.grid)


farm, procs, tcp = sections.farm(SOCKSCOPE, SOCKETS)
try:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = dict(os.environ, TERM="xterm-256color")
    watch = subprocess.Popen([SOCKSCOPE, "watch", "--interval", "1"], stdin=slave, stdout=slave, stderr=slave,
                             env=env, start_new_session=True)
    os.close(slave)
    screen = Screen()
    said = False

    def look(data):
        global said
        screen.feed(data)
        said = said or screen.shows("a refresh takes")

    look(drain(master, 5.0)[0])
    cpu0, t0 = cpu_seconds(watch.pid), time.perf_counter()
    latencies = []
    end = t0 + SECONDS
    keys = [b"\t", b"\x1b[Z"] * 10
    while time.perf_counter() < end:
        if keys and random.random() < 0.5:
            key = keys.pop()
            look(drain(master, random.uniform(0.05, 0.9))[0])
            os.write(master, key)
            got, first = drain(master, 1.0)
            look(got)
            latencies.append(first if first is not None else 1.0)
        else:
            look(drain(master, 0.5)[0])
    cpu1, t1 = cpu_seconds(watch.pid), time.perf_counter()
    hwm = hwm_kib(watch.pid)
    os.write(master, b"q")
    watch.wait(timeout=10)
    os.close(master)
    watch_core = (cpu1 - cpu0) / (t1 - t0)
    # The peer: ss -tanp once a second, as `watch -n1 ss -tanp` runs it.
    before = os.times()
    p0 = time.perf_counter()
    for _ in range(0 if LARGE else SECONDS):
        start = time.perf_counter()
        subprocess.run(["ss", "-tanp"], stdout=subprocess.DEVNULL, check=True)
        time.sleep(max(0.0, 1.0 - (time.perf_counter() - start)))
    after = os.times()
    ss_core = ((after.children_user - before.children_user) + (after.children_system - before.children_system)) / (
        max(time.perf_counter() - p0, 1e-9))
finally:
    farm.terminate()
    farm.wait()

lat_ms = sorted(x * 1000 for x in latencies)
p50 = statistics.median(lat_ms)
worst = lat_ms[-1]
mib = hwm / 1024
section = f"""<!-- watch: bench/watch.sh -->
## watch (issue 16)

`sockscope watch --interval 1` in a 200×50 pseudo-terminal over a `lab farm` of {tcp} TCP
sockets ({procs} worker processes, private namespace), measured for {SECONDS} s after a 5 s
warm-up; {len(lat_ms)} keys (Tab, Shift-Tab) sent at random moments. Kernel
{os.uname().release}, {os.cpu_count()} cores.

| measure | sockscope watch | `ss -tanp` once a second (`watch -n1 ss -tanp`) | target |
|---|---|---|---|
| CPU, share of one core | {watch_core * 100:.1f}% | {ss_core * 100:.1f}% | ≤ 25% — **{'met' if watch_core <= 0.25 else 'not met'}** |
| key to redraw, median / worst | {p50:.0f} ms / {worst:.0f} ms | — | ≤ 50 ms — **{'met' if worst <= 50 else 'not met'}** |
| peak memory (VmHWM) | {mib:.0f} MiB | — | ≤ 96 MiB — **{'met' if mib <= 96 else 'not met'}** |

The watch figure is collection (sockets with owners and tcp_info numbers, every process's fd
count and limit, the doctor's rules) plus drawing, every second; the ss figure is the socket
table alone.
<!-- /watch -->
"""
if LARGE:
    section = f"""<!-- watch_million: bench/watch.sh -->
## watch at a large host (issue 33)

`bench/watch.sh {SOCKETS}`: `sockscope watch --interval 1` in a 200×50 pseudo-terminal over a
`lab farm` of {tcp:,} TCP sockets ({procs} worker processes, private namespace), measured for
{SECONDS} s after a 5 s warm-up; {len(lat_ms)} keys (Tab, Shift-Tab) sent at random moments.
Kernel {os.uname().release}, {os.cpu_count()} cores. No peer: one `ss -tanp` runs past 600 s here.

| measure | sockscope watch | target |
|---|---|---|
| key to redraw, median / worst | {p50:.0f} ms / {worst:.0f} ms | ≤ 200 ms — **{'met' if worst <= 200 else 'not met'}** |
| CPU, share of one core | {watch_core * 100:.1f}% | ≤ 100% — **{'met' if watch_core <= 1.0 else 'not met'}** |
| the interval lengthened, and said on screen | {'yes' if said else 'no'} ("a refresh takes … s: refreshing every … s instead of 1.0 s") | **{'met' if said else 'not met'}** |
| peak memory (VmHWM) | {mib:.0f} MiB | — |
<!-- /watch_million -->
"""
    sections.replace(RESULTS, "watch_million", section)
else:
    sections.replace(RESULTS, "watch", section)
print(section)
