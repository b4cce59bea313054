#!/usr/bin/env python3
"""Turns the raw results of bench/inside.sh into bench/RESULTS.md: the machine, the commands,
medians and peak RSS per size, ratios against each peer, growth from 100k to 200k, and the
targets of issues 7, 10 and 12 marked met or not, and the collector's repeated collections (issue 11)."""
import json, os, sys

out = sys.argv[1]
sizes = sorted(int(f.split('.')[1]) for f in os.listdir(out) if f.startswith('times.'))

def short(cmd):
    parts = cmd.split()
    return ' '.join(['sockscope' if parts[0].endswith('/sockscope') else parts[0]] + parts[1:])

med, rss, tcp = {}, {}, {}
for s in sizes:
    for r in json.load(open(f'{out}/times.{s}.json'))['results']:
        med[(s, short(r['command']))] = r['median']
    for line in open(f'{out}/rss.{s}.tsv'):
        cmd, kb = line.rstrip('\n').split('\t')
        rss[(s, short(cmd))] = int(kb) / 1024 if kb.strip().isdigit() else None
    tcp[s] = int(open(f'{out}/tcp.{s}').read())

def read(name):
    try:
        return open(f'{out}/{name}').read().strip()
    except OSError:
        return '?'

cmds = []
for s in sizes:
    for (sz, c) in med:
        if sz == s and c not in cmds:
            cmds.append(c)

print('# Benchmark results\n')
print('Produced by `bench/run.sh` in one run on one machine: each population is built by')
print('`sockscope lab farm` in a private network namespace (~90% established loopback TCP, 5%')
print('TIME-WAIT, Unix socketpairs, one listener per process, at least 8 processes), and every')
print('command is timed there with hyperfine (`-N`, 1 warm-up; 10 runs below 100k sockets, 5 from')
print('100k) — figures are **medians**. Peak RSS is from `/usr/bin/time -f %M`, one run each.')
print('Output goes to /dev/null.\n')
print(f'Machine: {read("cores")} cores, {read("mem_gib")} GiB, Linux {read("kernel")}; {read("ss_version")}; lsof {read("lsof_version")}.\n')

print('## Medians (seconds) and peak RSS (MiB)\n')
print('| command | ' + ' | '.join(f'{s // 1000}k ({tcp[s] // 1000}k TCP)' for s in sizes) + ' |')
print('|---|' + '---|' * len(sizes))
for c in cmds:
    cells = []
    for s in sizes:
        m, r = med.get((s, c)), rss.get((s, c))
        cells.append('-' if m is None else f'{m:.3f} s / {r:.0f} MiB' if r else f'{m:.3f} s')
    print(f'| `{c}` | ' + ' | '.join(cells) + ' |')

pairs = [
    ('sockscope -tan', 'ss -tan'),
    ('sockscope -tanp', 'ss -tanp'),
    ('sockscope -tanp', 'netstat -tanp'),
    ('sockscope -tanp', 'lsof -nP -iTCP'),
    ('sockscope -tanp --json', 'ss -tanp'),
    ('sockscope -s', 'ss -s'),
    ('sockscope fds', 'lsof -nP'),
]
print('\n## Ratios of medians (sockscope / peer; below 1 is faster)\n')
print('| sockscope | peer | ' + ' | '.join(f'{s // 1000}k' for s in sizes) + ' |')
print('|---|---|' + '---|' * len(sizes))
for a, b in pairs:
    cells = [f'{med[(s, a)] / med[(s, b)]:.3f}' if (s, a) in med and (s, b) in med and med[(s, b)] > 0 else '-' for s in sizes]
    print(f'| `{a}` | `{b}` | ' + ' | '.join(cells) + ' |')

if 100000 in sizes and 200000 in sizes:
    print('\n## Growth from 100k to 200k sockets (median at 200k / median at 100k)\n')
    print('| command | growth |')
    print('|---|---|')
    for c in cmds:
        if (100000, c) in med and (200000, c) in med:
            print(f'| `{c}` | {med[(200000, c)] / med[(100000, c)]:.2f}× |')

if 100000 in sizes:
    s = 100000
    def ratio(a, b):
        return med[(s, a)] / med[(s, b)]
    targets = [
        ('`sockscope -tan` ≤ 1.0× `ss -tan`', ratio('sockscope -tan', 'ss -tan'), 1.0),
        ('`sockscope -tanp` ≤ 0.10× `ss -tanp`', ratio('sockscope -tanp', 'ss -tanp'), 0.10),
        ('`sockscope -tanp` ≤ 0.5× `lsof -nP -iTCP`', ratio('sockscope -tanp', 'lsof -nP -iTCP'), 0.5),
        ('`sockscope -tanp --json` ≤ 0.15× `ss -tanp`', ratio('sockscope -tanp --json', 'ss -tanp'), 0.15),
    ]
    peak = max(v for (sz, c), v in rss.items() if sz == s and c.startswith('sockscope') and v)
    print('\n## Targets (issue 7, at 100k sockets)\n')
    print('| target | measured | met |')
    print('|---|---|---|')
    for name, v, limit in targets:
        print(f'| {name} | {v:.3f}× | {"yes" if v <= limit else "**no**"} |')
    print(f'| peak RSS of every sockscope command ≤ 64 MiB | {peak:.0f} MiB | {"yes" if peak <= 64 else "**no**"} |')
    if 200000 in sizes:
        worst = max(med[(200000, c)] / med[(100000, c)] for c in cmds if c.startswith('sockscope') and (200000, c) in med and (100000, c) in med)
        print(f'| every sockscope figure grows ≤ 2.2× from 100k to 200k | worst {worst:.2f}× | {"yes" if worst <= 2.2 else "**no**"} |')

if 100000 in sizes and 200000 in sizes:
    fds = med[(100000, 'sockscope fds')] / med[(100000, 'lsof -nP')]
    worst_cmd, worst = max(((c, v) for (sz, c), v in rss.items() if sz == 200000 and c.startswith('sockscope') and v),
                           key=lambda cv: cv[1])
    print('\n## Targets (issue 10)\n')
    print('| target | measured | met |')
    print('|---|---|---|')
    print(f'| `sockscope fds` ≤ 0.4× `lsof -nP` at 100k | {fds:.3f}× | {"yes" if fds <= 0.4 else "**no**"} |')
    print(f'| peak RSS of every sockscope command ≤ 64 MiB at 200k | worst {worst:.0f} MiB (`{worst_cmd}`) | {"yes" if worst <= 64 else "**no**"} |')

if 100000 in sizes and (100000, 'sockscope -s') in med:
    v = med[(100000, 'sockscope -s')]
    print('\n## Targets (issue 12)\n')
    print('| target | measured | met |')
    print('|---|---|---|')
    print(f'| `sockscope -s` ≤ 0.03 s at 100k (from counters, as ss) | {v:.3f} s | {"yes" if v <= 0.03 else "**no**"} |')

collect = {}
for s in sizes:
    try:
        collect[s] = json.load(open(f'{out}/collect.{s}.json'))
    except (OSError, ValueError):
        pass
if collect:
    print('\n## The collector looking again (issue 11)\n')
    print('One `Collector` with the `-tanp` selection (TCP, owners) collecting 11 times in a row, as')
    print('`watch` and `serve` do (`crates/core/examples/collect_repeat.rs`): the first collection,')
    print('the median of the next 10, and a one-shot collection (what `sockscope -tanp` does). Later')
    print('collections reuse the sock_diag socket and the fd tables of processes that have not run.\n')
    print('| sockets | first | again (median) | again / first | one-shot | processes reused |')
    print('|---|---|---|---|---|---|')
    for s, c in sorted(collect.items()):
        print(f"| {c['sockets'] // 1000}k | {c['first_s']:.3f} s | {c['again_median_s']:.3f} s | "
              f"{c['again_median_s'] / c['first_s']:.2f}× | {c['once_s']:.3f} s | {c['processes_reused']} |")
