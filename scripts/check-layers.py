#!/usr/bin/env python3
"""Fail when the modules of src/ import each other in a cycle.

Two graphs are checked:

1. The top-level modules of src/: every `crate::NAME` path in a file under src/ (in
   `use` lines and in code) is an edge from the file's top-level module (src/NAME.rs or
   src/NAME/...) to module NAME.
2. The direct children of src/conf/ and src/modules/ (each child file or directory is
   one node, e.g. `modules/static_files`): every `crate::conf::X`, `crate::modules::X`,
   `super::X`, `super::super::X` or `self::X` path that resolves to another child of
   the same parent is an edge. References to the parent itself (`conf/mod.rs` and what
   it declares) are not edges.

The layers must point down only, so neither graph may have a cycle; each strongly
connected component with more than one node is printed with the lines that close it,
and the script exits 1. Comments and string literals are ignored.

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


SUB_PARENTS = ("conf", "modules")
PATH_REF = re.compile(
    r"\b(crate|super|self)((?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)*)(\s*::\s*\{)?"
)
INLINE_MOD = re.compile(r"\bmod\s+([a-z_][a-z0-9_]*)\s*\{")


def file_module_path(src, path):
    """src/modules/status/html.rs -> ["modules", "status", "html"] (mod.rs: its dir)."""
    parts = os.path.relpath(path, src).split(os.sep)
    last = parts[-1][:-3]
    parts = parts[:-1] + ([] if last in ("mod", "lib", "main") else [last])
    return parts


def inline_mod_spans(text):
    """(start, end, name) of every inline `mod NAME { ... }` block."""
    spans = []
    for m in INLINE_MOD.finditer(text):
        depth, i = 0, m.end() - 1
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        spans.append((m.start(), i, m.group(1)))
    return spans


def group_heads(text, start):
    """First path segment of each item of the `{...}` group opening at text[start]."""
    depth, i, item, heads = 0, start, "", []
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c == "}":
            depth -= 1
            if depth == 0:
                heads.append(item)
                break
        if depth == 1 and c == ",":
            heads.append(item)
            item = ""
        elif depth >= 1:
            item += c
        i += 1
    out = []
    for h in heads:
        m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", h)
        if m and m.group(1) != "self":
            out.append(m.group(1))
    return out


def resolved_refs(text, module_path):
    """(absolute path as a list of segments, line) for every crate/super/self path."""
    spans = inline_mod_spans(text)
    found = []
    for m in PATH_REF.finditer(text):
        here = list(module_path) + [n for (a, b, n) in spans if a < m.start() < b]
        segs = [x.strip() for x in m.group(2).split("::") if x.strip()]
        if m.group(1) == "crate":
            base = []
        elif m.group(1) == "super":
            base = here[:-1]
        else:
            base = here
        while segs and segs[0] in ("super", "self"):
            if segs.pop(0) == "super":
                base = base[:-1]
        line = text.count("\n", 0, m.start()) + 1
        path = base + segs
        if m.group(3):
            for head in group_heads(text, m.end() - 1):
                found.append((path + [head], line))
        else:
            found.append((path, line))
    return found


def child_nodes(src, parent):
    d = os.path.join(src, parent)
    nodes = set()
    if not os.path.isdir(d):
        return nodes
    for entry in os.listdir(d):
        if entry.endswith(".rs") and entry != "mod.rs":
            nodes.add(entry[:-3])
        elif os.path.isdir(os.path.join(d, entry)):
            nodes.add(entry)
    return nodes


def sub_module_graph(src):
    """Nodes `parent/child` for the children of src/conf and src/modules, with edges."""
    graph, where = {}, {}
    for parent in SUB_PARENTS:
        children = child_nodes(src, parent)
        for c in children:
            graph[f"{parent}/{c}"] = set()
        for root, _, files in os.walk(os.path.join(src, parent)):
            for f in files:
                if not f.endswith(".rs"):
                    continue
                path = os.path.join(root, f)
                mp = file_module_path(src, path)
                if len(mp) < 2 or mp[1] not in children:
                    continue  # the parent's own mod.rs
                frm = f"{parent}/{mp[1]}"
                with open(path, encoding="utf-8") as fh:
                    text = strip_comments_and_strings(fh.read())
                for target, line in resolved_refs(text, mp):
                    if len(target) < 2 or target[0] != parent or target[1] not in children:
                        continue
                    to = f"{parent}/{target[1]}"
                    if to != frm:
                        graph[frm].add(to)
                        where.setdefault((frm, to), f"{os.path.relpath(path, src)}:{line}")
    return graph, where


def report(graph, where):
    """Print each cycle of `graph` with the lines that close it; the number of cycles."""
    cycles = [c for c in tarjan(graph) if len(c) > 1]
    for comp in cycles:
        members = set(comp)
        print("check-layers: import cycle among: " + ", ".join(sorted(members)))
        for (frm, to), loc in sorted(where.items()):
            if frm in members and to in members:
                print(f"  {frm} -> {to}   ({loc})")
    return len(cycles)


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
    failed = report(graph, where)
    if not failed:
        print(f"check-layers: {len(modules)} top-level modules of src/, no import cycle")
    sub_graph, sub_where = sub_module_graph(src)
    sub_failed = report(sub_graph, sub_where)
    if not sub_failed:
        print(
            f"check-layers: {len(sub_graph)} modules of src/conf/ and src/modules/, no import cycle"
        )
    return 1 if failed or sub_failed else 0


if __name__ == "__main__":
    sys.exit(main())
