#!/usr/bin/python3
"""Writes two_moons.h5, paper 002's fixed two-class data set: 200 points of two
interleaving half circles in the plane (100 per class, labels -1 and +1) with
Gaussian noise of standard deviation 0.2, from numpy's PCG64 with seed 2309.
Not linearly separable, so the regularized logistic objective has a
non-trivial minimum. Run once; the file is committed.

Usage: make_data.py [OUTPUT]   (default: two_moons.h5 beside this script)
"""
import sys
from pathlib import Path

import h5py
import numpy as np


def two_moons(per_class: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    angle = np.pi * rng.random(2 * per_class)
    upper = np.stack([np.cos(angle[:per_class]), np.sin(angle[:per_class])], axis=1)
    lower = np.stack([1 - np.cos(angle[per_class:]), 0.5 - np.sin(angle[per_class:])], axis=1)
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((2 * per_class, 2))
    y = np.concatenate([np.ones(per_class), -np.ones(per_class)])
    return x, y.reshape(-1, 1)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("two_moons.h5")
    x, y = two_moons(100, 0.2, 2309)
    with h5py.File(out, "w") as f:
        f.create_dataset("x", data=x)
        f.create_dataset("y", data=y)
        f.attrs["description"] = "two moons, 2 x 100 points, noise 0.2, numpy PCG64 seed 2309"


if __name__ == "__main__":
    main()
