#!/usr/bin/python3
"""The results file under real mpirun: the same study written by 1, 2 and 3
ranks (oversubscribed), under both Open MPI I/O components (OMPIO and ROMIO),
holds identical results apart from the `rank` and `seconds` columns, every row
done, and the grid columns in task order.

Usage: test_rank_invariance.py RESULTS_SMOKE STUDY.cfg
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

SAME = ["final_risk", "min_risk", "risk_gap", "dist_to_min", "grad_norm", "min_grad_norm",
        "status", "steps", "dead_init", "dead_final", "done", "seed", "width", "optimizer",
        "trajectory/step", "trajectory/risk", "trajectory/grad_norm"]


def run(binary: str, config: str, out: str, ranks: int, io: str) -> None:
    env = dict(os.environ, OMPI_MCA_io=io)
    cmd = ["mpirun", "--oversubscribe", "-n", str(ranks), binary, config, out]
    if os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    subprocess.run(cmd, check=True, env=env, timeout=120)


def main() -> int:
    binary, config = sys.argv[1], sys.argv[2]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for io in ["ompio", "romio321"]:
            for ranks in [1, 2, 3]:
                path = os.path.join(tmp, f"{io}_{ranks}.h5")
                run(binary, config, path, ranks, io)
                files[(io, ranks)] = h5py.File(path, "r")
        reference = files[("ompio", 1)]["runs"]
        if not reference["done"][...].all():
            print("FAIL: rows not done with 1 rank")
            failures += 1
        width = reference["width"][...]
        if not (np.array_equal(width[:10], [2] * 10) and np.array_equal(width[10:], [4] * 10)):
            print(f"FAIL: width column not in task order: {width}")
            failures += 1
        if list(reference["seed"][:6]) != [0, 1, 2, 3, 4, 0]:
            print(f"FAIL: seeds not innermost: {reference['seed'][:6]}")
            failures += 1
        for key, f in files.items():
            runs = f["runs"]
            ranks_used = set(runs["rank"][...].tolist())
            if ranks_used != set(range(key[1])):
                print(f"FAIL: {key}: ranks {ranks_used}")
                failures += 1
            for name in SAME:
                a, b = reference[name][...], runs[name][...]
                same = (np.array_equal(a, b, equal_nan=True) if a.dtype.kind == "f"
                        else np.array_equal(a, b))
                if not same:
                    print(f"FAIL: {key}: {name} differs from 1 rank")
                    failures += 1
    print(f"test_rank_invariance: {'ok' if not failures else f'{failures} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
