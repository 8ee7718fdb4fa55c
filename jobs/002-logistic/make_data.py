#!/usr/bin/python3
"""Writes paper 002's fixed two-class data sets in the plane (labels -1 and +1,
numpy's PCG64), each run once and committed:

- two_moons.h5 (the default): 200 points of two interleaving half circles, 100
  per class, Gaussian noise of standard deviation 0.2, seed 2309. Not linearly
  separable, so the regularized logistic objective has a non-trivial minimum.
- --kind=moons|blobs|circles with --noise, --per-class, --seed: the data sets
  of the search for a non-trivial minimizer every seed reaches (search.cfg,
  docs/results.md). blobs: two Gaussian clouds of standard deviation NOISE
  around (-1, 0) and (1, 0); circles: radius 1 (label +1) around radius 0.5
  (label -1), radial noise NOISE.

Usage: make_data.py [--kind=K --noise=S --per-class=N --seed=N] [OUTPUT]
       (default: two_moons.h5 beside this script)
"""
import argparse
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


def blobs(per_class: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.repeat(np.array([[1.0, 0.0], [-1.0, 0.0]]), per_class, axis=0)
    x = centers + noise * rng.standard_normal((2 * per_class, 2))
    y = np.concatenate([np.ones(per_class), -np.ones(per_class)])
    return x, y.reshape(-1, 1)


def circles(per_class: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    angle = 2 * np.pi * rng.random(2 * per_class)
    radius = np.concatenate([np.full(per_class, 1.0), np.full(per_class, 0.5)])
    radius = radius + noise * rng.standard_normal(2 * per_class)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    y = np.concatenate([np.ones(per_class), -np.ones(per_class)])
    return x, y.reshape(-1, 1)


MAKERS = {"moons": two_moons, "blobs": blobs, "circles": circles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", nargs="?", type=Path,
                        default=Path(__file__).with_name("two_moons.h5"))
    parser.add_argument("--kind", choices=sorted(MAKERS), default="moons")
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2309)
    args = parser.parse_args()
    if args.per_class < 1 or args.noise < 0:
        parser.error("--per-class must be at least 1 and --noise at least 0")
    x, y = MAKERS[args.kind](args.per_class, args.noise, args.seed)
    name = "two moons" if args.kind == "moons" else args.kind
    with h5py.File(args.output, "w") as f:
        f.create_dataset("x", data=x)
        f.create_dataset("y", data=y)
        f.attrs["description"] = (f"{name}, 2 x {args.per_class} points, noise {args.noise:g}, "
                                  f"numpy PCG64 seed {args.seed}")


if __name__ == "__main__":
    main()
