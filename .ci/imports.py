#!/usr/bin/env python3
"""The import structure of each crate, file by file: which module files name which (through
`use` and inline `crate::`/`super::` paths; test code after `#[cfg(test)]` is left out), the
cycles among them. A module's declaration of its children (`mod x;`) and its re-exports
(`pub use x::Y`, a facade) are not imports: a path through a re-export is followed to the
file that defines the item.

    python3 .ci/imports.py            # every crate: a summary line each, then the cycles
    python3 .ci/imports.py --check    # exit 1 when any crate has a cycle (.ci/run runs it)
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def modules(src):
    """module path (tuple) -> file, for one crate's src/."""
    out = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            # Test-only files (tests.rs beside a module) belong to the tests.
            if parts and parts[-1] == "tests":
                continue
            out[tuple(parts)] = os.path.join(dirpath, f)
    return out


def code_of(path):
    text = open(path, encoding="utf-8").read()
    cut = text.find("#[cfg(test)]")
    if cut >= 0:
        text = text[:cut]
    text = re.sub(r"//[^\n]*", "", text)
    return text


def expand_use(body):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    body = body.strip()
    m = re.match(r"^(.*?)\{(.*)\}$", body, re.S)
    if not m:
        return [body]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if p:
            out.extend(prefix + q for q in expand_use(p))
    return out


def resolve(path, here, mods, exports=None, depth=0):
    """The module file a path names, from module `here` (through re-exports); None outside
    the crate."""
    segs = [s.strip() for s in path.split("::") if s.strip()]
    segs = [re.sub(r"\s+as\s+\w+$", "", s) for s in segs]
    if not segs:
        return None
    if segs[0] == "crate":
        base, rest = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = here
        rest = segs
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    elif here + (segs[0],) in mods:
        base, rest = here, segs
    else:
        return None
    best = base if base in mods else None
    cur = base
    used = 0
    for s in rest:
        cur = cur + (s,)
        if cur in mods:
            best = cur
            used += 1
        else:
            break
    # The next segment may be an item the module re-exports: follow it to where it lives.
    if exports is not None and best is not None and used < len(rest) and depth < 8:
        origin = exports.get(best, {}).get(rest[used])
        if origin is not None:
            found = resolve(origin, best, mods, exports, depth + 1)
            if found is not None:
                return found
    return best


PUB_USE = r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);"


def graph(src):
    mods = modules(src)
    codes = {m: code_of(path) for m, path in mods.items()}
    # What each module re-exports: item name -> the path it names.
    exports = {}
    for m, code in codes.items():
        for body in re.findall(PUB_USE, code):
            for p in expand_use(body):
                p = p.strip()
                alias = re.search(r"\s+as\s+(\w+)$", p)
                item = alias.group(1) if alias else p.split("::")[-1].strip()
                if item not in ("*", "self"):
                    exports.setdefault(m, {})[item] = re.sub(r"\s+as\s+\w+$", "", p)
    edges = {m: set() for m in mods}
    for m, code in codes.items():
        private = re.sub(PUB_USE, "", code)
        paths = []
        for body in re.findall(r"\buse\s+([^;]+);", private):
            paths.extend(expand_use(body))
        paths.extend(re.findall(r"\b((?:crate|super)(?:::\w+)+)", private))
        for p in paths:
            t = resolve(p, m, mods, exports)
            if t is not None and t != m:
                edges[m].add(t)
    return mods, edges


def sccs(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def name(m):
    return "::".join(m) or "lib"


def main():
    check = "--check" in sys.argv
    crates_dir = os.path.join(ROOT, "crates")
    bad = False
    for crate in sorted(os.listdir(crates_dir)):
        src = os.path.join(crates_dir, crate, "src")
        if not os.path.isdir(src):
            continue
        mods, edges = graph(src)
        comps = [c for c in sccs(edges) if len(c) > 1]
        n_edges = sum(len(v) for v in edges.values())
        # Floors: a file with no imports is on floor 0, any other one floor above the highest
        # it imports (over the graph with each cycle as one node). An import running back up
        # goes to a file on the same floor or higher: only a cycle's own do.
        comp_of = {m: i for i, comp in enumerate(sccs(edges)) for m in comp}
        floor = {}

        def floor_of(c, members):
            if c not in floor:
                floor[c] = 0
                below = {comp_of[t] for m in members[c] for t in edges[m]} - {c}
                floor[c] = max((floor_of(b, members) + 1 for b in below), default=0)
            return floor[c]

        members = {}
        for m, c in comp_of.items():
            members.setdefault(c, []).append(m)
        for c in members:
            floor_of(c, members)
        back = sum(1 for m in edges for t in edges[m] if floor[comp_of[t]] >= floor[comp_of[m]])
        floors = max(floor.values(), default=-1) + 1
        print(f"{crate}: {len(mods)} files, {n_edges} imports, {floors} floors, {len(comps)} cycle(s), {back} import(s) running back up")
        for c in comps:
            bad = True
            members = sorted(c)
            print("  cycle: " + " <-> ".join(name(m) for m in members))
            inside = set(c)
            for m in members:
                for t in sorted(edges[m] & inside):
                    print(f"    {name(m)} -> {name(t)}")
    if check and bad:
        print("imports: cycles found (python3 .ci/imports.py shows them)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
