#!/usr/bin/python3
"""Paper 002's objective and its estimated R*, against an independent numpy and
scipy implementation: mean log(1 + exp(-y f(x))) + lambda (|W1|_F^2 + |W2|_F^2)
over the two-moons data set of jobs/002-logistic.

- the objective sgdmc reports for a saved initial network equals numpy's to
  1e-12 relative;
- sgdmc's R* (32 BFGS starts) and the best of 64 scipy L-BFGS-B starts agree to
  1e-6 (one hidden layer of width 3: small enough that both find the minimum),
  and neither undercuts the other by more than that.

Usage: test_logistic_rstar.py SGDMC DATA.h5
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
from scipy.optimize import minimize

CASES = [("tanh", 0.1, 3), ("tanh", 0.01, 3), ("sigmoid", 0.01, 3), ("sigmoid", 0.001, 2)]


def activation(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if name == "tanh":
        a = np.tanh(z)
        return a, 1 - a * a
    a = 1 / (1 + np.exp(-z))
    return a, a * (1 - a)


def objective(theta: np.ndarray, x: np.ndarray, y: np.ndarray, act: str, lam: float,
              width: int) -> tuple[float, np.ndarray]:
    d = x.shape[1]
    w1 = theta[:width * d].reshape(width, d)
    b1 = theta[width * d:width * d + width]
    w2 = theta[width * d + width:width * d + 2 * width]
    b2 = theta[-1]
    h, dh = activation(act, x @ w1.T + b1)
    f = h @ w2 + b2
    margin = y * f
    loss = np.logaddexp(0, -margin).mean() + lam * (np.sum(w1 ** 2) + np.sum(w2 ** 2))
    df = -y / (1 + np.exp(margin)) / len(y)
    g_w2 = h.T @ df + 2 * lam * w2
    g_b2 = df.sum()
    dz = np.outer(df, w2) * dh
    g_w1 = dz.T @ x + 2 * lam * w1
    g_b1 = dz.sum(axis=0)
    return loss, np.concatenate([g_w1.ravel(), g_b1, g_w2, [g_b2]])


def main() -> int:
    sgdmc, data = sys.argv[1], Path(sys.argv[2]).resolve()
    with h5py.File(data, "r") as f:
        x, y = f["x"][...], f["y"][:, 0]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for act, lam, width in CASES:
            saved = Path(tmp) / f"{act}_{lam}_{width}.h5"
            out = subprocess.run(
                [sgdmc, "train", f"--data={data}", "--loss=logistic", f"--l2={lam}",
                 f"--activation={act}", f"--width={width}", "--steps=0", "--rstar_starts=32",
                 "--gram_points=0", f"--save={saved}"],
                capture_output=True, text=True, check=True)
            result = json.loads(out.stdout)
            with h5py.File(saved, "r") as f:
                theta = np.concatenate([f["W1"][...].ravel(), f["b1"][...], f["W2"][...].ravel(),
                                        f["b2"][...]])
            initial, _ = objective(theta, x, y, act, lam, width)
            if abs(initial - result["final_risk"]) > 1e-12 * initial:
                print(f"FAIL {act} {lam} {width}: objective {result['final_risk']!r}, "
                      f"numpy {initial!r}")
                failures += 1
            rng = np.random.default_rng(0)
            best = np.inf
            for _ in range(64):
                start = rng.uniform(-1, 1, theta.size)
                fit = minimize(objective, start, args=(x, y, act, lam, width), jac=True,
                               method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-15,
                                                           "maxiter": 20000})
                best = min(best, fit.fun)
            rstar = result["min_risk"]
            ok = result["min_risk_source"] == "estimated" and abs(rstar - best) <= 1e-6
            print(f"{'ok' if ok else 'FAIL'} {act} lambda {lam} width {width}: sgdmc R* "
                  f"{rstar:.10f}, scipy {best:.10f}")
            failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
