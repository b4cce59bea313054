#!/usr/bin/env python3
"""Builds each fuzz target's seed corpus from the parser fixtures captured from a real
kernel (crates/core/tests/fixtures) and from the filter examples in the docs and tests.
Run from anywhere; writes fuzz/corpus/<target>/ (which is not committed)."""

import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "crates", "core", "tests", "fixtures")
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


# sock_diag: each captured payload ("u32 length + bytes" records) inside a netlink header,
# and all of one table's records as one datagram.
for name in sorted(os.listdir(FIXTURES)):
    if not name.endswith(".netlink"):
        continue
    raw, records, pos = fixture(name), [], 0
    while pos + 4 <= len(raw):
        (n,) = struct.unpack_from("=I", raw, pos)
        records.append(raw[pos + 4 : pos + 4 + n])
        pos += 4 + n
    datagram = b""
    for i, payload in enumerate(records[:64]):
        msg = struct.pack("=IHHII", 16 + len(payload), 20, 2, i, 0) + payload
        msg += b"\0" * (-len(msg) % 4)
        put("sock_diag", f"{name}.{i}", msg)
        datagram += msg
    put("sock_diag", f"{name}.all", datagram)

# fdinfo: each captured fd's section.
text = fixture("fdinfo.txt").decode()
for i, block in enumerate(text.split("== ")[1:]):
    put("fdinfo", f"fdinfo.{i}", block.split("\n", 1)[1].encode())
put("fdinfo", "limits", fixture("proc_limits"))

# proc_net: the first byte picks the file (fuzz_targets/proc_net.rs FILES order).
for i, name in enumerate(["tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "packet", "netlink"]):
    put("proc_net", name, bytes([i]) + fixture(f"proc_net_{name}"))
put("proc_net", "netstat", b"\0TcpExt: ListenOverflows ListenDrops\nTcpExt: 3 4\n")

# filter: every backquoted example that starts like a filter in the docs, plus tests'.
examples = set()
for doc in ["filter.md", "cli.md"]:
    with open(os.path.join(HERE, "..", "docs", doc)) as f:
        for m in re.finditer(r"`([^`\n]+)`", f.read()):
            e = m.group(1)
            if re.match(r"(state|exclude|src|dst|sport|dport|dev|fwmark|cgroup|autobound|not|\(|!)\b", e):
                examples.add(e)
examples |= {
    "( dport = :ssh or sport = :http ) and not src 10.0.0.0/8",
    "state established '( dport = :443 )'",
    "sport >= :1024 sport <= :65535 || dst [::1]:80",
    "src /run/*.sock or dst @abstract*",
    "fwmark = 0x1/0xff and cgroup = /system.slice and dev = lo",
    "exclude time-wait autobound",
}
for i, e in enumerate(sorted(examples)):
    put("filter", f"example.{i}", e.encode())

# capture: a capture of a private namespace (redacted) made by `sockscope record`.
put("capture", "capture_v1.cap", fixture("capture_v1.cap"))


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])


def zstd_frame(data, zeros):
    """A zstd frame written by hand: `data` as a raw block, then `zeros` zero bytes as
    run-length blocks (4 bytes per 128 KiB), so a bomb costs kilobytes."""
    block = lambda last, kind, size: struct.pack("<I", last | kind << 1 | size << 3)[:3]
    f = b"\x28\xb5\x2f\xfd\x00\x38" + block(zeros == 0, 0, len(data)) + data
    while zeros:
        n = min(zeros, 128 << 10)
        zeros -= n
        f += block(zeros == 0, 1, n) + b"\0"
    return f


preamble = b"sockscope capture\n" + struct.pack("<HHI", 1, 1, 0)
# A bomb: looks that claim and hold 96 MiB of zeros each, past the limit of any small file.
put("capture", "bomb", preamble + zstd_frame(varint(96 << 20), 96 << 20) * 2)
# Size claims: a look of 4 GiB, and one of 2^63, with nothing behind them.
put("capture", "claim_4g", preamble + zstd_frame(varint(4 << 30), 0))
put("capture", "claim_huge", preamble + zstd_frame(varint(1 << 63), 0))

# http: requests a scraper sends, and ones no client should.
for name, req in {
    "scrape": b"GET /metrics HTTP/1.1\r\nHost: localhost:9899\r\nAccept: text/plain\r\n\r\n",
    "head": b"HEAD / HTTP/1.0\r\n\r\n",
    "pipelined": b"GET /metrics HTTP/1.1\r\n\r\nGET /-/healthy HTTP/1.1\r\n\r\n",
    "bare_lf": b"GET /metrics?x=1 HTTP/1.1\nX: y\n\n",
    "config": b"listen = \"127.0.0.1:9899\"\nmax_listeners = 100\n",
}.items():
    put("http", name, req)

# trace_decode: sockaddrs as a traced program passes them (family in host order).
put("trace_decode", "inet", bytes([2, 0, 0, 80, 127, 0, 0, 1]) + bytes(8))
put("trace_decode", "unix", bytes([1, 0]) + b"/run/app.sock\0")
put("trace_decode", "abstract", bytes([1, 0, 0]) + b"\x010x")
put("trace_decode", "netlink", bytes([16, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0]))
put("trace_decode", "packet", bytes([17, 0, 8, 0, 1, 0, 0, 0, 1, 0, 0, 6]) + bytes(8))

# btf: the unit tests' blob (btf.rs: an int, struct outer with an unnamed union, a function),
# and the running kernel's header and first types when it has BTF.
words = lambda *ws: b"".join(struct.pack("<I", w) for w in ws)
strings = b"\0int\0outer\0a\0b\0f\0"
types = words(1, 1 << 24, 4, 32) + words(5, (4 << 24) | 2, 8, 11, 1, 0, 0, 3, 32)
types += words(0, (5 << 24) | 1, 4, 13, 1, 0) + words(15, 12 << 24, 0)
put("btf", "sample", words(0xEB9F | 1 << 16, 24, 0, len(types), len(types), len(strings)) + types + strings)
try:
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        put("btf", "vmlinux_head", f.read(64 << 10))
except OSError:
    pass
