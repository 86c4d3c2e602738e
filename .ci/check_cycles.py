#!/usr/bin/env python3
"""Lists import cycles between the source files of a crate: file A names file B (a `use
crate::x::y`, `super::` or `self::` path, in a `use` or in code) and B names A, directly or through
others. A module's own children (declared in its mod.rs) are its parts, not imports, and inline
`#[cfg(test)] mod tests { ... }` blocks are skipped (a `mod tests;` declaration is not: skipping from
it would hide the rest of a mod.rs). Exit 1 when any cycle exists.

Usage: python3 .ci/check_cycles.py needle-core/src needle-api/src ffi/src"""
import os, re, sys

def module_files(src):
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(root, n)
                rel = os.path.relpath(p, src)[:-3].split(os.sep)
                if rel[-1] in ("mod", "lib", "main"):
                    rel = rel[:-1]
                files[tuple(rel)] = p
    return files

def resolve(path, files):
    # longest prefix of `path` that is a file module
    for i in range(len(path), -1, -1):
        if tuple(path[:i]) in files:
            return tuple(path[:i])
    return None

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")

def edges(src):
    files = module_files(src)
    graph = {m: set() for m in files}
    for mod, p in files.items():
        text = open(p).read()
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests\s*\{", text)[0]
        text = re.sub(r"//[^\n]*", "", text)
        is_dir_mod = os.path.basename(p) in ("mod.rs", "lib.rs", "main.rs")
        here = list(mod) if is_dir_mod else list(mod[:-1])
        for m in PATH.finditer(text):
            head, rest = m.group(1), [x for x in m.group(2).split("::") if x]
            if head == "crate":
                base = []
            elif head == "self":
                base = list(mod) if is_dir_mod else list(mod)
            else:
                base = here[:-1] if is_dir_mod else here
                while rest and rest[0] == "super":
                    rest = rest[1:]; base = base[:-1]
            target = resolve(base + rest, files)
            # A module's own children are its parts, not imports (mod.rs declares and re-exports
            # them); the crate root likewise.
            if target is None or target == mod or target == () or target[: len(mod)] == mod:
                continue
            graph[mod].add(target)
    return graph

def cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)
    def strong(v):
        index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in graph:
        if v not in index:
            strong(v)
    return out

bad = 0
for src in sys.argv[1:]:
    for comp in cycles(edges(src)):
        bad += 1
        print(f"{src}: files importing each other in a circle: " + ", ".join("/".join(c) or "lib" for c in comp))
sys.exit(1 if bad else 0)
