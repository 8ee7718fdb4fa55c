"""The include graph of src/ and include/sgdmc/ against the layers of docs/architecture.md.

usage: test_layers.py SOURCE_ROOT

Each folder may include only its own layer and the layers below it (base < core < minimum <
run < study, summary < cli), and no two files may include each other in a circle.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

LEVEL = {"base": 0, "core": 1, "minimum": 2, "run": 3, "study": 4, "summary": 4, "cli": 5}


def layer_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    return parts[2] if parts[0] == "include" else parts[1]


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    # NAME.h.in: the template of a header the build generates as NAME.h (meson's vcs_tag)
    files = (sorted((root / "src").glob("*/*.[ch]")) + sorted((root / "include/sgdmc").glob("*/*.h"))
             + sorted((root / "include/sgdmc").glob("*/*.h.in")))
    # "sgdmc/LAYER/NAME.h" -> its file; a bare "NAME.h" is a private header beside the includer
    by_name = {str(f.relative_to(root / "include")).removesuffix(".in"): f for f in files
               if f.relative_to(root).parts[0] == "include"}
    failures = []
    edges: dict[Path, list[Path]] = {}
    for f in files:
        layer = layer_of(f, root)
        if layer not in LEVEL:
            failures.append(f"{f.relative_to(root)}: folder {layer!r} is no layer of docs/architecture.md")
            continue
        edges[f] = []
        for target in re.findall(r'#include "([^"]+)"', f.read_text()):
            dest = by_name.get(target) or (f.parent / target if (f.parent / target).exists() else None)
            if dest is None:
                failures.append(f"{f.relative_to(root)}: includes {target}, not found")
                continue
            edges[f].append(dest)
            to = layer_of(dest, root)
            if LEVEL[to] > LEVEL[layer] or (LEVEL[to] == LEVEL[layer] and to != layer):
                failures.append(f"{f.relative_to(root)} ({layer}) includes {target} ({to}): upward")
    # circles: depth-first search over the include edges
    state: dict[Path, int] = {}

    def visit(node: Path, stack: list[Path]) -> None:
        state[node] = 1
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                loop = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                failures.append("circle: " + " -> ".join(str(p.relative_to(root)) for p in loop))
            elif state.get(nxt) is None:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for f in edges:
        if f not in state:
            visit(f, [f])
    for line in failures:
        print("FAIL:", line)
    print(f"test_layers: {len(files)} files, {sum(map(len, edges.values()))} includes, "
          f"{'ok' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
