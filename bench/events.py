#!/usr/bin/env python3
"""bench/events.sh's measurements and report.

  events.py run SOCKSCOPE WORKLOAD OUT RATE SECS RUNS [NAMESPACE…]   (inside a fresh network namespace)
  events.py report OUT RESULTS.md

`run` times the paced loopback workload (bench/programs/workload.c) alone, beside
`sockscope events --life`, and beside a tcplife written for bpftrace on the same tracepoint
(bcc's tcplife needs kernel headers; see the report), RUNS times each, interleaved. With
NAMESPACEs (names under /run/netns), it also times the same rate spread over them, alone and
beside `sockscope events --life --all-netns`. It records the workload's own CPU time, the
observer's CPU time and peak memory, and what each observer printed and lost. `report`
writes the "Connection events" section of RESULTS.md.
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sections  # noqa: E402
import time

PROBE = 7999
# tcplife's work, on the tracepoint bcc's tcplife uses on current kernels: one line per
# closed TCP socket with pid, ports and byte counters (read from the socket through BTF).
LIFE_BT = r"""
tracepoint:sock:inet_sock_set_state /args->protocol == 6/ {
  if (args->newstate < 4 && @birth[args->skaddr] == 0) { @birth[args->skaddr] = nsecs; }
  if (args->newstate == 7) {
    $tp = (struct tcp_sock *)args->skaddr;
    printf("%d %s %d %d %d %d %d\n", pid, comm, args->sport, args->dport,
           $tp->bytes_acked, $tp->bytes_received, (nsecs - @birth[args->skaddr]) / 1000);
    delete(@birth[args->skaddr]);
  }
}
"""


def probe_until(path, port_seen, what):
    """Makes probe connections until the observer's output shows one (it is reading)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", PROBE))
    listener.listen()
    deadline = time.time() + 30
    while time.time() < deadline:
        c = socket.create_connection(("127.0.0.1", PROBE))
        a, _ = listener.accept()
        c.close()
        a.close()
        time.sleep(0.1)
        with open(path, errors="replace") as f:
            if any(port_seen(line) for line in f):
                listener.close()
                return
    sys.exit(f"{what} never showed the probe connections")


def start(kind, sockscope, out, run):
    path = f"{out}/{kind}-{run}.out"
    if kind in ("alone", "alone-spread"):
        return None, path
    if kind in ("sockscope", "sockscope-all"):
        cmd = [sockscope, "events", "--life", "--jsonl", "-n"] + (["--all-netns"] if kind == "sockscope-all" else [])
        seen = lambda line: f'"port":{PROBE}}}' in line
    else:
        cmd = ["bpftrace", f"{out}/life.bt"]
        seen = lambda line: f" {PROBE} " in line
    p = subprocess.Popen(cmd, stdout=open(path, "w"), stderr=open(path + ".err", "w"))
    probe_until(path, seen, kind)
    return p, path


def stop(p):
    """Stops an observer: its CPU seconds and its peak resident memory (VmHWM, KiB)."""
    with open(f"/proc/{p.pid}/status") as f:
        peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    p.send_signal(signal.SIGINT)
    _, _, ru = os.wait4(p.pid, 0)
    return ru.ru_utime + ru.ru_stime, peak


def spread(workload, rate, secs, namespaces):
    """The workload split over the namespaces, all at once: connections made, CPU seconds
    (summed over the processes) and wall seconds (the longest)."""
    share = rate // len(namespaces)
    ps = [
        subprocess.Popen(["ip", "netns", "exec", ns, workload, "paced", str(share), str(secs)], stdout=subprocess.PIPE, text=True)
        for ns in namespaces
    ]
    outs = [p.communicate()[0].split() for p in ps]
    return sum(int(o[0]) for o in outs), sum(float(o[1]) for o in outs), max(float(o[2]) for o in outs)


def run(sockscope, workload, out, rate, secs, runs, namespaces):
    kinds = ["alone", "sockscope"]
    if shutil.which("bpftrace"):
        with open(f"{out}/life.bt", "w") as f:
            f.write(LIFE_BT)
        kinds.append("bpftrace")
    if namespaces:
        kinds += ["alone-spread", "sockscope-all"]
    results = []
    for r in range(runs):
        for kind in kinds:
            p, path = start(kind, sockscope, out, r)
            if kind in ("alone-spread", "sockscope-all"):
                made, cpu, wall = spread(workload, rate, secs, namespaces)
            else:
                w = subprocess.run([workload, "paced", str(rate), str(secs)], capture_output=True, text=True, check=True)
                made, cpu, wall = w.stdout.split()
            row = {"kind": kind, "run": r, "made": int(made), "workload_cpu_s": float(cpu), "wall_s": float(wall)}
            if p is not None:
                time.sleep(0.5)  # let the observer read the last records before it is stopped
                row["observer_cpu_s"], row["observer_peak_kib"] = stop(p)
                lines = open(path, errors="replace").read().splitlines()
                if kind in ("sockscope", "sockscope-all"):
                    recs = [json.loads(l) for l in lines]
                    lives = [v for v in recs if v["type"] == "life" and PROBE not in (v["local"]["port"], v["peer"]["port"])]
                    summary = [v for v in recs if v["type"] == "summary"][-1]
                    row["lines"] = len(lives)
                    row["lost"] = summary["lost_records"]
                    row["overflows"] = summary["destroy_overflows"]
                    row["partial"] = summary["lives_from_destroy_record_only"]
                else:
                    row["lines"] = sum(1 for l in lines if l[:1].isdigit() and f" {PROBE} " not in l)
                    row["lost"] = None
            results.append(row)
            print(json.dumps(row), flush=True)
    with open(f"{out}/events.json", "w") as f:
        json.dump({"rate": rate, "secs": secs, "runs": runs, "namespaces": len(namespaces), "results": results}, f)


def report(out, results_md):
    data = json.load(open(f"{out}/events.json"))
    rows = data["results"]
    by = lambda k: [r for r in rows if r["kind"] == k]
    base = statistics.median(r["workload_cpu_s"] for r in by("alone"))
    lines = [
        "<!-- events: bench/events.sh -->",
        "## Connection events (issue 14)",
        "",
        f"A paced loopback workload, {data['rate']:,} connections per second for {data['secs']} s "
        f"(connect, accept, 64-byte write and read, close; bench/programs/workload.c), {data['runs']} runs "
        f"of each case interleaved, in a fresh network namespace. Kernel {open(out + '/kernel').read().strip()}, "
        f"{open(out + '/cores').read().strip()} cores. The workload's own CPU time (user + system, where the "
        "kernel runs tracepoint handlers) is what an observer costs it.",
        "",
        "| observer | workload CPU s (median) | × alone | observer CPU (share of one core) | observer peak memory | lines per run (connections × 2 sides) | lost |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, name in [("alone", "none"), ("sockscope", "`sockscope events --life --jsonl`"), ("bpftrace", "tcplife for bpftrace (tracepoint + BTF)")]:
        rs = by(kind)
        if not rs:
            continue
        cpu = statistics.median(r["workload_cpu_s"] for r in rs)
        made = statistics.median(r["made"] for r in rs)
        if kind == "alone":
            lines.append(f"| {name} | {cpu:.3f} | 1.00× | — | — | {int(made)} connections | — |")
            continue
        share = statistics.median(r["observer_cpu_s"] / r["wall_s"] for r in rs)
        peak = max(r["observer_peak_kib"] for r in rs) / 1024
        got = ", ".join(str(r["lines"]) for r in rs)
        lost = ", ".join("—" if r["lost"] is None else f"{r['lost']} records, {r['overflows']} overflows" for r in rs)
        lines.append(f"| {name} | {cpu:.3f} | {cpu / base:.3f}× | {share:.3f} | {peak:.1f} MiB | {got} | {lost} |")
    spread_rows = []
    if by("alone-spread"):
        spread_base = statistics.median(r["workload_cpu_s"] for r in by("alone-spread"))
        n = data.get("namespaces", 0)
        spread_rows += [
            "",
            f"The same rate spread over {n} network namespaces ({data['rate'] // max(n, 1):,} connections per second "
            "in each, all at once; the namespaces exist before the observer starts):",
            "",
            "| observer | workload CPU s (median, all processes) | × alone | observer CPU (share of one core) | observer peak memory | lines per run | lost |",
            "|---|---|---|---|---|---|---|",
            f"| none | {spread_base:.3f} | 1.00× | — | — | "
            f"{int(statistics.median(r['made'] for r in by('alone-spread')))} connections | — |",
        ]
        a = by("sockscope-all")
        cpu = statistics.median(r["workload_cpu_s"] for r in a)
        share = statistics.median(r["observer_cpu_s"] / r["wall_s"] for r in a)
        peak = max(r["observer_peak_kib"] for r in a) / 1024
        got = ", ".join(f"{r['lines']} of {2 * r['made']}" for r in a)
        lost = ", ".join(f"{r['lost']} records, {r['overflows']} overflows" for r in a)
        spread_rows.append(
            f"| `sockscope events --life --all-netns --jsonl` | {cpu:.3f} | {cpu / spread_base:.3f}× | {share:.3f} | "
            f"{peak:.1f} MiB | {got} | {lost} |"
        )
        ok = all(r["lines"] == 2 * r["made"] and r["lost"] == 0 and r["overflows"] == 0 for r in a)
        spread_rows += [
            "",
            f"Targets (issue 31): ≤ 1.10× the workload's CPU time — **{cpu / spread_base:.3f}×, "
            f"{'met' if cpu / spread_base <= 1.10 else 'not met'}**; 0 lost and every connection given — "
            f"**{'met' if ok else 'not met'}**; ≤ 32 MiB — **{peak:.1f} MiB, {'met' if peak <= 32 else 'not met'}**.",
        ]
    s = by("sockscope")
    ratio = statistics.median(r["workload_cpu_s"] for r in s) / base
    share = statistics.median(r["observer_cpu_s"] / r["wall_s"] for r in s)
    peak = max(r["observer_peak_kib"] for r in s) / 1024
    complete = all(r["lines"] == 2 * r["made"] and r["lost"] == 0 and r["overflows"] == 0 for r in s)
    lines += [
        "",
        f"Targets (issue 14): workload time ≤ 1.10× with `events --life` running — **{ratio:.3f}×, "
        f"{'met' if ratio <= 1.10 else 'not met'}**; zero lost records and every connection given — "
        f"**{'met' if complete else 'not met'}**; at most a quarter of one core — **{share:.3f}, "
        f"{'met' if share <= 0.25 else 'not met'}**; under 32 MiB — **{peak:.1f} MiB, {'met' if peak < 32 else 'not met'}**.",
        "",
        "bcc's `tcplife-bpfcc` does not run on this machine: it compiles its BPF program at start and "
        "needs this kernel's headers (`/lib/modules/$(uname -r)/build` or CONFIG_IKHEADERS), which this "
        "kernel does not ship. The bpftrace row runs tcplife's logic on the same tracepoint instead "
        "(bpftrace reads the socket's counters through the kernel's BTF). It names the task the kernel "
        "ran for at the close, which for a passive close in softirq is not the socket's owner.",
    ] + spread_rows + [
        "<!-- /events -->",
    ]
    section = "\n".join(lines) + "\n"
    sections.replace(results_md, "events", section)


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), sys.argv[8:])
    else:
        report(sys.argv[2], sys.argv[3])
