#!/usr/bin/python3
"""Per cell of a paper-002 search file: how far each seed's final objective
ends above the estimated R* (min_risk), and which seeds end beyond tol.

Usage: gaps.py FILE.h5 [FILE.h5 ...]   (the output of search.cfg or search_long.cfg)

Prints, per grid cell: the seeds within tol of the estimated R*, the least,
median and largest excess final objective - R*, the range of the final
objective across seeds, and the seeds beyond tol with their excess.
docs/figures/002-logistic-search-gaps.txt is its output on both search files.
"""
import sys
from pathlib import Path

import h5py
import numpy as np


def describe(path: Path) -> list[str]:
    lines = [f"{path.name}:",
             f"{'data':>15} {'activation':>10} {'l2':>6} {'width':>5} {'R* est':>7} {'within':>6} "
             f"{'min excess':>10} {'median':>8} {'max':>8} {'range':>8}  seeds beyond tol (excess)"]
    with h5py.File(path, "r") as f:
        runs = f["runs"]
        seeds = int(f.attrs["seeds"])
        tol = runs["tol"][...]
        final, rstar = runs["final_risk"][...], runs["min_risk"][...]
        data, activation = runs["data"][...], runs["activation"][...]
        l2, width, seed = runs["l2"][...], runs["width"][...], runs["seed"][...]
    for start in range(0, len(final), seeds):
        cell = slice(start, start + seeds)
        excess = final[cell] - rstar[cell]
        beyond = np.flatnonzero(excess > tol[cell])
        named = ", ".join(f"{int(seed[cell][i])} ({excess[i]:.4f})" for i in beyond)
        lines.append(f"{Path(data[start].decode()).name:>15} {activation[start].decode():>10} "
                     f"{l2[start]:>6g} {int(width[start]):>5} {rstar[start]:>7.4f} "
                     f"{seeds - len(beyond):>3}/{seeds:<2} {excess.min():>10.4f} "
                     f"{np.median(excess):>8.4f} {excess.max():>8.4f} {np.ptp(final[cell]):>8.4f}"
                     f"  {named if len(beyond) <= 8 else f'{len(beyond)} seeds'}")
    return lines


def main() -> int:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for name in sys.argv[1:]:
        print("\n".join(describe(Path(name))), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
