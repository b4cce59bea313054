"""bench/ab.sh's measuring: each command run by BEFORE and AFTER in alternating rounds
(after a warm-up of each), the median wall time of each, and each one's peak RSS."""
import os
import statistics
import subprocess
import sys
import time

before, after, out, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# Write-only, as a shell's >/dev/null opens it (subprocess.DEVNULL is read-write, which is
# what a closed stdout looks like after Rust's runtime reopens it).
NULL = open(os.devnull, "w")
COMMANDS = [
    "-tan", "-tanp", "-tanp --json", "-s", "fds", "doctor --interval 0",
    "watch --once --json", "--from {cap} -tanp --json", "record -o {scratch} --force --window 0",
]


def argv(binary, command, who):
    text = command.format(cap=f"{out}/{who}.cap", scratch=f"{out}/{who}.scratch")
    return [binary] + text.split()


def wall(args):
    started = time.perf_counter()
    subprocess.run(args, stdout=NULL, stderr=NULL)
    return time.perf_counter() - started


def peak_kib(args):
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + args, stdout=NULL, stderr=subprocess.PIPE, text=True)
    return int(r.stderr.strip().splitlines()[-1])


print("| command | before (ms) | after (ms) | after / before | before RSS (MiB) | after RSS (MiB) |")
print("|---|---:|---:|---:|---:|---:|")
for c in COMMANDS:
    b, a = argv(before, c, "before"), argv(after, c, "after")
    wall(b), wall(a)
    tb, ta = [], []
    for i in range(rounds):
        # Alternate which goes first, too.
        if i % 2 == 0:
            tb.append(wall(b)), ta.append(wall(a))
        else:
            ta.append(wall(a)), tb.append(wall(b))
    mb, ma = statistics.median(tb) * 1000, statistics.median(ta) * 1000
    name = c.format(cap="CAPTURE", scratch="FILE")
    print(f"| `sockscope {name}` | {mb:.1f} | {ma:.1f} | {ma / mb:.2f} | {peak_kib(b) / 1024:.1f} | {peak_kib(a) / 1024:.1f} |")
