#!/usr/bin/env python3
"""Fail when the top-level modules of src/ import each other in a cycle.

Every `crate::NAME` path in a file under src/ (in `use` lines and in code) is an edge
from the file's top-level module (src/NAME.rs or src/NAME/...) to module NAME. The
layers must point down only, so the graph must have no cycle; each strongly connected
component with more than one module is printed with the lines that close it, and the
script exits 1. Comments and string literals are ignored.

Usage: scripts/check-layers.py [SRC_DIR]   (default: src next to this script's parent)
"""

import os
import re
import sys


def top_module(src, path):
    rel = os.path.relpath(path, src)
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def strip_comments_and_strings(text):
    # Line comments, block comments, string literals (raw strings kept simple).
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    out = []
    for line in text.split("\n"):
        line = re.sub(r'r#*"[^"]*"#*', '""', line)
        line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
        line = re.sub(r"//.*", "", line)
        out.append(line)
    return "\n".join(out)


USE_GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}\s*;", re.S)
CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")


def edges_of(text):
    """(target, line number) for every reference to a top-level module."""
    found = []
    for m in USE_GROUP.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        for item in re.split(r",(?![^{]*\})", m.group(1)):
            name = item.strip().split("::")[0].split(" ")[0].strip("{} \n")
            if name and name != "self":
                found.append((name, line))
    for m in CRATE_PATH.finditer(text):
        found.append((m.group(1), text.count("\n", 0, m.start()) + 1))
    return found


def tarjan(graph):
    index, low, on, stack, comps = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
            comps.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return comps


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    src = os.path.abspath(src)
    modules = set()
    for entry in os.listdir(src):
        if entry.endswith(".rs"):
            modules.add(entry[:-3])
        elif os.path.isdir(os.path.join(src, entry)):
            modules.add(entry)
    modules -= {"lib", "main"}
    graph = {m: set() for m in modules}
    where = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            frm = top_module(src, path)
            if frm not in modules:
                continue
            with open(path, encoding="utf-8") as fh:
                text = strip_comments_and_strings(fh.read())
            for to, line in edges_of(text):
                if to in modules and to != frm:
                    graph[frm].add(to)
                    where.setdefault((frm, to), f"{os.path.relpath(path, src)}:{line}")
    cycles = [c for c in tarjan(graph) if len(c) > 1]
    if not cycles:
        print(f"check-layers: {len(modules)} top-level modules of src/, no import cycle")
        return 0
    for comp in cycles:
        members = set(comp)
        print("check-layers: import cycle among: " + ", ".join(sorted(members)))
        for (frm, to), loc in sorted(where.items()):
            if frm in members and to in members:
                print(f"  {frm} -> {to}   ({loc})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
