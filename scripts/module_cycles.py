#!/usr/bin/env python3
"""No module imports another module that imports it back.

Cargo already refuses a cycle between crates; this looks inside each crate of the
workspace. An edge A -> B is any path `crate::B…` written in the files of top-level
module A (and `super::B` one level down), so a `use`, a full path in code and a doc link
all count. Modules are compared at the crate's top level (`admin`, `routes`, …): a
submodule belongs to its parent. Prints each cycle found and exits 1 if there is one.

A static reading of the source, quicker than `cargo modules dependencies --acyclic`
(which builds rust-analyzer) and stricter in one way: a path in a comment counts too.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
SUPER_PATH = re.compile(r"\bsuper::([a-z_][a-z0-9_]*)")


def top_modules(src: Path) -> dict[str, list[Path]]:
    """Top-level module name -> its files (lib.rs and main.rs are the root, skipped)."""
    modules: dict[str, list[Path]] = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src)
        if rel.parts[0] == "bin" or (len(rel.parts) == 1 and rel.name in ("lib.rs", "main.rs")):
            continue
        name = rel.parts[0].removesuffix(".rs")
        modules.setdefault(name, []).append(f)
    return modules


def edges(src: Path) -> dict[str, set[str]]:
    modules = top_modules(src)
    graph = {m: set() for m in modules}
    for name, files in modules.items():
        for f in files:
            text = f.read_text(encoding="utf-8")
            targets = set(CRATE_PATH.findall(text))
            # `super::x` from a file directly inside a module folder is a sibling of
            # that file, inside the same top-level module, except in the folder's mod.rs
            # (its super is the crate root).
            rel = f.relative_to(src)
            if len(rel.parts) == 2 and rel.name == "mod.rs":
                targets |= set(SUPER_PATH.findall(text))
            for t in targets:
                if t != name and t in modules:
                    graph[name].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    crates = sorted(p.parent for p in ROOT.glob("*/Cargo.toml")) + sorted(
        p.parent for p in ROOT.glob("crates/*/Cargo.toml")
    )
    bad = False
    for crate in crates:
        src = crate / "src"
        if not src.is_dir():
            continue
        graph = edges(src)
        for component in cycles(graph):
            bad = True
            links = [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in component]
            print(f"{crate.relative_to(ROOT)}: modules import one another in a circle: "
                  f"{', '.join(component)} ({'; '.join(links)})")
        if not any(True for _ in cycles(graph)):
            print(f"{crate.relative_to(ROOT)}: {len(graph)} modules, no circle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
