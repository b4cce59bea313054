#!/usr/bin/env python3
"""bench/record.sh's measurement and report, run inside a private network namespace.

  record.py SOCKSCOPE RESULTS.md SOCKETS

Builds a farm of SOCKETS sockets (`sockscope lab farm`), then times, alternating, after a
warm-up of each (medians of 5 runs):
  - `sockscope -tanp --json` (the live listing),
  - `sockscope record -o FILE --window 0` (one look, no doctor's second look, which is a
    sleep), and the file's size per socket,
  - `sockscope record --full` (also every socket fd's fdinfo and every socket's options),
  - `sockscope --from FILE -tanp --json` (the same listing, from the capture),
and checks that the listing from the capture is the live one. Writes the "record" section.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sections  # noqa: E402

SOCKSCOPE, RESULTS, SOCKETS = sys.argv[1], sys.argv[2], int(sys.argv[3])
CAP = os.path.join(tempfile.mkdtemp(prefix="sockscope-record-"), "host.cap")


def run(args):
    t = time.perf_counter()
    out = subprocess.run([SOCKSCOPE] + args, capture_output=True, text=True, check=True)
    return time.perf_counter() - t, out.stdout


def peak_kib(args):
    out = subprocess.run(["/usr/bin/time", "-f", "%M", SOCKSCOPE] + args, capture_output=True, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1])


farm, procs, tcp = sections.farm(SOCKSCOPE, SOCKETS)
try:
    live, record, replay = ["-tanp", "--json"], ["record", "-o", CAP, "--force", "--window", "0"], ["--from", CAP, "-tanp", "--json"]
    full = ["record", "-o", CAP + ".full", "--force", "--window", "0", "--full"]
    for args in (live, record, full, replay):
        run(args)
    times = {"live": [], "record": [], "full": [], "replay": []}
    order = [("live", live), ("record", record), ("full", full), ("replay", replay)]
    for i in range(5):
        for name, args in (order if i % 2 == 0 else list(reversed(order))):
            times[name].append(run(args)[0])
    size, full_size = os.path.getsize(CAP), os.path.getsize(CAP + ".full")
    # The capture answers as the host did (the clock's fields aside).
    _, a = run(live)
    run(record)
    _, b = run(replay)
    strip = lambda d: [{k: v for k, v in s.items() if k != "timer"} for s in json.loads(d)["sockets"]]
    same = strip(a) == strip(b)
    sockets = len(json.loads(b)["sockets"])
    everything = json.loads(run(["--from", CAP, "-a", "--json"])[1])["socket_count"]
    mem = {"record": peak_kib(record), "full": peak_kib(full), "replay": peak_kib(replay)}
finally:
    farm.terminate()
    farm.wait()

m = {k: statistics.median(v) for k, v in times.items()}
rng = {k: f"{min(v):.3f}–{max(v):.3f}" for k, v in times.items()}
ratio_record, ratio_full, ratio_replay = m["record"] / m["live"], m["full"] / m["live"], m["replay"] / m["live"]
per_socket = size / max(everything, 1)
verdict = lambda ok: "**met**" if ok else "**not met**"
section = f"""<!-- record: bench/record.sh -->
## Captures (issue 20)

A `lab farm` of {tcp} TCP sockets ({procs} worker processes, private namespace); medians of 5
runs each, alternated, after a warm-up. Kernel {os.uname().release}, {os.cpu_count()} cores.
The capture holds {everything} sockets of every table; `--from` listed {sockets} TCP sockets,
{'the same as' if same else 'NOT the same as'} the live listing (timers aside).

| | time (range) | against `-tanp --json` | target |
|---|---|---|---|
| `sockscope -tanp --json` (live) | {m['live']:.3f} s ({rng['live']}) | 1 | — |
| `sockscope record --window 0` | {m['record']:.3f} s ({rng['record']}) | {ratio_record:.2f}× | ≤ 1.5× — {verdict(ratio_record <= 1.5)} |
| `sockscope record --window 0 --full` | {m['full']:.3f} s ({rng['full']}) | {ratio_full:.2f}× | — |
| `sockscope --from FILE -tanp --json` | {m['replay']:.3f} s ({rng['replay']}) | {ratio_replay:.2f}× | ≤ 1.0× — {verdict(ratio_replay <= 1.0)} |
| capture size | {size:,} bytes, **{per_socket:.1f} bytes per socket** (`--full`: {full_size / max(everything, 1):.1f}) | | ≤ 40 — {verdict(per_socket <= 40)} |
| peak memory | record {mem['record'] // 1024} MiB, `--full` {mem['full'] // 1024} MiB, `--from` {mem['replay'] // 1024} MiB | | |

A look holds every socket as the kernel's sock_diag replies with every extension, every
process's fd table (fdinfo for every fd but sockets), the options of listeners and of the
idle or slow connections (docs/record.md), counters and sysctls. `--full` adds every socket fd's fdinfo
and every held socket's options (pidfd_getfd and some twenty getsockopts each): what `fds`
and `--sockopts` show of each socket.
<!-- /record -->
"""
sections.replace(RESULTS, "record", section)
print(section)
