#!/usr/bin/env python3
"""Writes the "Tracing (issues 13, 30)" section of bench/RESULTS.md from bench/trace.sh's raw
results, replacing the section if it is there (bench/report.py keeps it when it rewrites the
rest)."""
import json, sys

out, results = sys.argv[1], sys.argv[2]
START, END = '<!-- trace: bench/trace.sh -->', '<!-- /trace -->'

def medians(name):
    return {r['command']: r['median'] for r in json.load(open(f'{out}/{name}.json'))['results']}

def read(name):
    try:
        return open(f'{out}/{name}').read().strip()
    except OSError:
        return '?'

conns, yy_conns, reads, farm, py_conns = read('sizes').split()
c, yy, rd, py = medians('connect'), medians('connect-yy'), medians('read'), medians('python')
ours = c['sockscope trace -f']
vs_bpf = ours / c['strace -f --seccomp-bpf -e trace=%net']
vs_bpf_py = py['sockscope trace -f'] / py['strace -f --seccomp-bpf -e trace=%net']
vs_yy = yy['sockscope trace -f'] / yy['strace -f -e trace=%net -yy']
read_ratio = rd['sockscope trace'] / rd['untraced']
mark = lambda ok: 'yes' if ok else '**no**'
lines = [START, '## Tracing (issues 13, 30)', '',
         f"`bench/trace.sh`: kernel {read('kernel')}, {read('cores')} cores, {read('strace_version')}. "
         'Each connect run starts in a fresh network namespace. Medians; the trace goes to a file, '
         "sockscope's with every fd shown as its connection (strace's `-yy`).", '',
         f'Loopback loop of connect, accept, 64-byte write and read, close ({conns} connections):', '',
         '| command | median | × untraced |', '|---|---|---|']
for name, t in c.items():
    lines.append(f"| `{name}` | {t:.3f} s | {t / c['untraced']:.1f}× |")
lines += ['', f'The same loop from Python (`bench/programs/connect_loop.py`, {py_conns} connections; '
          'the workload of issue 30\'s independent check):', '',
          '| command | median | × untraced |', '|---|---|---|']
for name, t in py.items():
    lines.append(f"| `{name}` | {t:.3f} s | {t / py['untraced']:.1f}× |")
lines += ['', f"The same loop, {yy_conns} connections, beside a farm of {farm} sockets ({read('yy_tcp_sockets')} TCP): "
          'strace -yy asks sock_diag about every fd of every call, which costs more the more sockets there are:', '',
          '| command | median | × untraced |', '|---|---|---|']
for name, t in yy.items():
    lines.append(f"| `{name}` | {t:.3f} s | {t / yy['untraced']:.1f}× |")
lines += ['', f'{reads} read() calls on a regular file (not traced: the seccomp filter lets them run):', '',
          '| command | median | × untraced |', '|---|---|---|']
for name, t in rd.items():
    lines.append(f"| `{name}` | {t:.3f} s | {t / rd['untraced']:.3f}× |")
lines += ['', '| target | measured | met |', '|---|---|---|',
          f'| `sockscope trace -f` ≤ 1.0× `strace -f --seccomp-bpf -e trace=%net -o FILE` | {vs_bpf:.2f}× | {mark(vs_bpf <= 1.0)} |',
          f'| the same, on the Python loop | {vs_bpf_py:.2f}× | {mark(vs_bpf_py <= 1.0)} |',
          f'| `sockscope trace -f` ≤ 0.01× `strace -f -e trace=%net -yy` | {vs_yy:.4f}× | {mark(vs_yy <= 0.01)} |',
          f'| 1M untraced `read()` calls ≤ 1.1× untraced time | {read_ratio:.3f}× | {mark(read_ratio <= 1.1)} |',
          END]
section = '\n'.join(lines) + '\n'
try:
    text = open(results).read()
except OSError:
    text = ''
if START in text and END in text:
    text = text[:text.index(START)] + section + text[text.index(END) + len(END) + 1:]
else:
    text = text.rstrip('\n') + '\n\n' + section
open(results, 'w').write(text)
