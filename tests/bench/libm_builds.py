#!/usr/bin/env python3
"""How much glibc's choice of libm build changes values and sgdmc's results on this machine.

usage: libm_builds.py [SGDMC] [--values=N] [--seeds=S]

On x86-64 glibc loads one of several builds of exp, log, sin, cos, ... (compiled for FMA with
AVX2, FMA4, AVX or SSE2), chosen at start-up from the CPU's usable features; GLIBC_TUNABLES=
glibc.cpu.hwcaps=-FEATURE takes features away, which makes one machine load each build a machine
without those features would. This script

1. evaluates libm's exp, log, log1p, expm1, sin, cos and tanh (through ctypes, so glibc's own
   code) at N values uniform in [-20, 20] (log and log1p at their absolute values plus 1e-3)
   under each build, and counts the values that differ from the FMA build's bit for bit;
2. trains S seeds of `sgdmc train` per setting (smooth activations, the sin target, normal
   inputs, and ReLU on x^2 as the control) under each build and counts the runs whose JSON
   differs in any measured number (seconds aside), and those whose verdict differs.

Not a test: the figures go to tests/bench/results/ (docs/study.md, "One build per file", cites
them). sgdmc names the build it runs under (`sgdmc --version`), records it in every results
file and refuses to mix builds in one study.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BUILDS = {"fma": "", "avx": "glibc.cpu.hwcaps=-AVX2,-FMA,-FMA4",
          "sse2": "glibc.cpu.hwcaps=-AVX2,-FMA,-FMA4,-AVX"}
FUNCTIONS = ["exp", "log", "log1p", "expm1", "sin", "cos", "tanh"]

# Run in a child under each build's GLIBC_TUNABLES: prints one hex word per value.
EVALUATE = r"""
import ctypes, ctypes.util, struct, sys
import numpy as np
libm = ctypes.CDLL(ctypes.util.find_library("m"))
name, count = sys.argv[1], int(sys.argv[2])
f = getattr(libm, name)
f.restype, f.argtypes = ctypes.c_double, [ctypes.c_double]
x = np.random.default_rng(20261205).uniform(-20.0, 20.0, count)
if name in ("log", "log1p"):
    x = np.abs(x) + 1e-3
out = np.array([f(float(v)) for v in x])
sys.stdout.buffer.write(out.tobytes())
"""

SETTINGS = {
    "relu, x^2 (control)": ["--activation=relu", "--target=square"],
    "tanh, x^2": ["--activation=tanh", "--target=square"],
    "sigmoid, x^2": ["--activation=sigmoid", "--target=square"],
    "softplus, x^2": ["--activation=softplus", "--target=square"],
    "relu, sin target": ["--activation=relu", "--target=sin"],
    "relu, normal input": ["--activation=relu", "--input=normal", "--input_dim=2"],
}


def environment(tunables: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GLIBC_TUNABLES", None)
    if tunables:
        env["GLIBC_TUNABLES"] = tunables
    return env


def values(name: str, count: int, tunables: str) -> bytes:
    return subprocess.run([sys.executable, "-c", EVALUATE, name, str(count)], check=True,
                          capture_output=True, env=environment(tunables)).stdout


def trained(sgdmc: str, flags: list[str], seed: int, tunables: str) -> dict[str, object]:
    run = subprocess.run([sgdmc, "train", "--width=8", "--depth=2", "--optimizer=adam",
                          "--steps=5000", f"--seed={seed}", *flags], check=True,
                         capture_output=True, text=True, env=environment(tunables))
    result = json.loads(run.stdout)
    result.pop("seconds", None)
    return result


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    options = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    sgdmc = args[0] if args else str(REPO / "build" / "sgdmc")
    count, seeds = int(options.get("values", 1000000)), int(options.get("seeds", 8))
    for build, tunables in BUILDS.items():
        said = subprocess.run([sgdmc, "--version"], capture_output=True, text=True,
                              env=environment(tunables)).stdout.splitlines()[-1]
        print(f"GLIBC_TUNABLES={tunables or '(unset)'}: sgdmc --version says '{said}'")
    print(f"\n1. libm values that differ from the fma build's, of {count:,} per function")
    print("| function | " + " | ".join(b for b in BUILDS if b != "fma") + " |")
    print("|---|" + "---|" * (len(BUILDS) - 1))
    for name in FUNCTIONS:
        base = np.frombuffer(values(name, count, ""), dtype=np.uint64)
        counts = []
        for build, tunables in BUILDS.items():
            if build != "fma":
                other = np.frombuffer(values(name, count, tunables), dtype=np.uint64)
                counts.append(str(int(np.count_nonzero(base != other))))
        print(f"| {name} | " + " | ".join(counts) + " |", flush=True)
    print(f"\n2. sgdmc train (width 8, depth 2, Adam, 5000 steps), {seeds} seeds per setting: runs "
          "whose JSON differs from the fma build's in any value (seconds aside)")
    print("| setting | " + " | ".join(b for b in BUILDS if b != "fma") +
          " | largest relative difference of final_risk | runs whose status differs |")
    print("|---|" + "---|" * (len(BUILDS) + 1))
    for setting, flags in SETTINGS.items():
        base = [trained(sgdmc, flags, seed, "") for seed in range(seeds)]
        cells, largest, flipped = [], 0.0, 0
        for build, tunables in BUILDS.items():
            if build == "fma":
                continue
            other = [trained(sgdmc, flags, seed, tunables) for seed in range(seeds)]
            cells.append(str(sum(a != b for a, b in zip(base, other))))
            for a, b in zip(base, other):
                flipped += a["status"] != b["status"]
                x, y = a["final_risk"], b["final_risk"]
                if isinstance(x, float) and isinstance(y, float) and x != y:
                    largest = max(largest, abs(x - y) / max(abs(x), abs(y)))
        print(f"| {setting} | " + " | ".join(cells) + f" | {largest:.2g} | {flipped} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
