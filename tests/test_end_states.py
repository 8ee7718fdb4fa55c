"""End states, the budget, the Gram noise floor and the default tolerance.

usage: test_end_states.py SGDMC

1. each end state on a network built for it: a constant network (critical family constant,
   no kink), the best affine fit of x^2 (stationary, family affine: a critical point, its
   gradient 0 to rounding), a converged one (risk 0), one in mid-descent (a falling risk),
   one oscillating (heavy momentum on a quadratic bowl), and the diagnostics behind each;
2. `sgdmc summarize --at-step=K` against the same rules applied in numpy to the trajectory
   datasets read with h5py, at several K (step 0, inside, past the end);
3. Gram measures: gram_min_eig is 0 or above its floor n eps gram_max_eig, and
   gram_eig_ratio = gram_min_eig / gram_max_eig;
4. the default tolerance: 0 absolute with rtol 0.1 where R* > 0, 1e-6 where R* = 0.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

SGDMC = ""
TMP = Path(".")
failures: list[str] = []
STATIONARY_RELATIVE, STATIONARY_ZERO = 1e-2, 1e-12


def check(ok: bool, what: str, detail: str = "") -> None:
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}{': ' + detail if detail else ''}")


def train(*flags: str) -> dict[str, Any]:
    out = subprocess.run([SGDMC, "train", *flags], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        check(False, f"sgdmc train {' '.join(flags)}", out.stderr)
        return {}
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def network(name: str, width: int, **values: Any) -> Path:
    """A depth-1 network of one input: W1 [width, 1], b1, W2 [1, width], b2."""
    params = {"W1": np.zeros((width, 1)), "b1": np.zeros(width), "W2": np.zeros((1, width)),
              "b2": np.zeros(1)}
    for key, value in values.items():
        params[key][...] = value
    path = TMP / f"{name}.h5"
    with h5py.File(path, "w") as f:
        for key, value in params.items():
            f[key] = value
    return path


def section_classes() -> None:
    # constant: the one neuron dead on [0,1]; x^2's best constant is its mean 1/3
    constant = train("--width=1", f"--init={network('constant', 1, W1=-1, b1=-1, b2=1 / 3)}",
                     "--steps=0")
    if constant:
        check(constant["critical_family"] == "constant" and constant["kinks_final"] == 0 and
              constant["constant_final"] is True and constant["end_state"] == "certified",
              "constant network", str(constant))
    # the best affine fit of x^2 on U[0,1]: x - 1/6, risk 1/180, a critical point
    affine = train("--width=1", f"--init={network('affine', 1, W1=1, W2=1, b2=-1 / 6)}",
                   "--steps=0", "--tol=0", "--rtol=1")
    if affine:
        check(abs(affine["final_risk"] - 1 / 180) < 1e-15 and affine["grad_norm"] < 1e-14,
              "affine: not the best affine fit", str(affine))
        check(affine["status"] == "not_converged" and affine["end_state"] == "stationary" and
              affine["critical_family"] == "affine" and affine["kinks_final"] == 0,
              "affine: not a stationary affine network", str(affine))
    # converged: the constant target itself
    converged = train("--target=constant:1", "--width=1",
                      f"--init={network('one', 1, W1=-1, b1=-1, b2=1)}", "--steps=0")
    if converged:
        check(converged["status"] == "converged" and converged["end_state"] == "converged" and
              converged["final_risk"] == 0, "converged network", str(converged))
    # mid-descent: large batches, a small step, a few hundred steps
    descent = train("--width=8", "--seed=3", "--batch_size=256", "--lr=0.01", "--steps=300",
                    "--tol=0", "--rtol=1")
    if descent:
        check(descent["end_state"] in ("descending", "certified") and descent["risk_drop"] > 0,
              "mid-descent", str(descent))
        if descent["end_state"] == "descending":
            check(descent["grad_norm"] > STATIONARY_RELATIVE * descent["grad_norm_init"],
                  "descending with a stationary gradient", str(descent))
    # oscillating: heavy momentum on the bowl (b2 - 1)^2 of a constant target (the neuron is
    # dead, nothing else moves), an underdamped spiral whose risk rises and falls
    spiral = train("--target=constant:1", "--width=1", "--optimizer=momentum",
                   "--momentum=0.99", "--lr=0.1", "--steps=300", "--checkpoints=12",
                   f"--init={network('bowl', 1, W1=-1, b1=-1, b2=0)}")
    if spiral:
        check(spiral["status"] == "not_converged" and spiral["end_state"] == "oscillating",
              "oscillating", str(spiral))
    # a descending run never has a stationary gradient, a stationary one never a large one
    for seed in range(6):
        r = train("--width=4", f"--seed={seed}", "--optimizer=adam", "--steps=3000",
                  "--lr=0.02", "--lr_schedule=power:0.5", "--tol=0", "--rtol=1")
        if not r:
            continue
        ratio = r["grad_norm"] / r["grad_norm_init"]
        if r["end_state"] == "stationary":
            check(ratio <= STATIONARY_RELATIVE or r["grad_norm"] <= STATIONARY_ZERO,
                  f"seed {seed}: stationary at ratio {ratio}")
        if r["end_state"] in ("descending", "oscillating"):
            check(ratio > STATIONARY_RELATIVE, f"seed {seed}: moving at ratio {ratio}")
        if r["critical_family"] == "affine":
            check(r["kinks_final"] == 0, f"seed {seed}: affine with kinks")


def expected_at_step(f: h5py.File, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Per task: the status and the end state at step K by the documented rules."""
    runs = f["runs"]
    steps, risk = runs["trajectory/step"][...], runs["trajectory/risk"][...]
    grad = runs["trajectory/grad_norm"][...]
    lo = runs["tol"][...] + (1 + runs["rtol"][...]) * runs["min_risk_lo"][...]
    hi = runs["tol"][...] + (1 + runs["rtol"][...]) * runs["min_risk"][...]
    diverged_code = h5py.check_enum_dtype(runs["status"].dtype)["diverged"]
    status_out, state_out = [], []
    for t in range(len(steps)):
        recorded = np.flatnonzero(steps[t] >= 0)
        at = [j for j in recorded if steps[t, j] <= K]
        if not at:
            status_out.append("pending")
            state_out.append("pending")
            continue
        j = at[-1]
        if not np.isfinite(risk[t, j]) or (runs["status"][t] == diverged_code and
                                            j == recorded[-1]):
            status_out.append("diverged")
            state_out.append("diverged")
            continue
        status = "converged" if risk[t, j] <= lo[t] else \
            "not_converged" if risk[t, j] > hi[t] else "undecided"
        status_out.append(status)
        if status != "not_converged":
            state_out.append(status)
        elif grad[t, j] <= STATIONARY_RELATIVE * grad[t, 0] or grad[t, j] <= STATIONARY_ZERO:
            state_out.append("stationary")
        elif j >= 2 and risk[t, j - 2] > risk[t, j - 1] > risk[t, j]:
            state_out.append("descending")
        else:
            state_out.append("oscillating")
    return np.array(status_out), np.array(state_out)


def section_at_step() -> None:
    config = TMP / "budget.cfg"
    config.write_text('name = "budget"; seeds = 40;\n'
                      'grid = { optimizer = ["sgd", "adam"]; width = [2, 4]; };\n'
                      'train = { steps = 2000; lr = 0.05; lr_schedule = "power:0.5"; '
                      'tol = 0.0; rtol = 1.0; };\noutput = { trajectory = 9; };\n')
    out = TMP / "budget.h5"
    run = subprocess.run([SGDMC, "study", str(config), f"--output={out}", "--quiet"],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OMPI_MCA_pml": "ob1"})
    check(run.returncode == 0, "budget study", run.stderr)
    if run.returncode != 0:
        return
    with h5py.File(out, "r") as f:
        seeds = int(f.attrs["seeds"])
        for K in (0, 45, 300, 2000, 10**9):
            status, state = expected_at_step(f, K)
            summary = subprocess.run([SGDMC, "summarize", str(out), f"--at-step={K}",
                                      "--format=json"], capture_output=True, text=True,
                                     timeout=60)
            check(summary.returncode == 0, f"--at-step={K}", summary.stderr)
            if summary.returncode != 0:
                continue
            cells = json.loads(summary.stdout)["cells"]
            for c, cell in enumerate(cells):
                rows = slice(c * seeds, (c + 1) * seeds)
                want = {"converged": int((status[rows] == "converged").sum()),
                        "undecided": int((status[rows] == "undecided").sum()),
                        "diverged": int((status[rows] == "diverged").sum())}
                got = {k: cell[k] for k in want}
                check(got == want, f"--at-step={K} cell {c}: counts {got}, numpy {want}")
                for name in ("stationary", "descending", "oscillating"):
                    share = float(np.mean(state[rows] == name))
                    check(abs(cell[f"end_{name}"] - share) < 1e-12,
                          f"--at-step={K} cell {c}: end_{name} {cell[f'end_{name}']}, "
                          f"numpy {share}")
                # the trajectory holds no dead counts or certificates: unknown, not 0
                check(cell["dead_at_end"] is None and cell["p_certified"] is None,
                      f"--at-step={K} cell {c}: dead_at_end {cell['dead_at_end']}, "
                      f"p_certified {cell['p_certified']} (unknown at a step)")
    # -1 once stood for "not given" and was taken silently for the end of every run
    negative = subprocess.run([SGDMC, "summarize", str(out), "--at-step=-1"],
                              capture_output=True, text=True, timeout=60)
    check(negative.returncode == 2 and negative.stderr.count("\n") == 1
          and "--at-step" in negative.stderr and not negative.stdout,
          "--at-step=-1 was not refused", negative.stderr)
    # an edited file whose trajectory is 2^31 columns wide (no storage: nothing is written to
    # it) is refused by its width, not read into a buffer of that size
    wide = TMP / "wide.h5"
    wide.write_bytes(out.read_bytes())
    with h5py.File(wide, "r+") as f:
        tasks = f["runs/trajectory/risk"].shape[0]
        del f["runs/trajectory/risk"]
        f.create_dataset("runs/trajectory/risk", shape=(tasks, 2**31), dtype="f8")
    edited = subprocess.run([SGDMC, "summarize", str(wide), "--at-step=5"],
                            capture_output=True, text=True, timeout=60)
    check(edited.returncode != 0 and edited.stderr.count("\n") == 1 and
          "2147483648 columns, more than sgdmc writes" in edited.stderr,
          "a trajectory 2^31 columns wide", edited.stderr)
    missing = subprocess.run([SGDMC, "summarize", str(TMP / "none.h5"), "--at-step=5"],
                             capture_output=True, text=True, timeout=60)
    check(missing.returncode != 0 and missing.stderr.count("\n") == 1,
          "--at-step on a missing file", missing.stderr)


def section_gram() -> None:
    for flags in (["--depth=2", "--width=8"], ["--width=2"], ["--input_dim=3", "--width=16"]):
        r = train(*flags, "--steps=200", "--gram_points=32")
        if not r:
            continue
        low, high, ratio = r["gram_min_eig"], r["gram_max_eig"], r["gram_eig_ratio"]
        check(low == 0 or low > 32 * np.finfo(float).eps * high,
              f"gram {flags}: min eig {low} inside the noise floor of {high}")
        check(abs(ratio - low / high) <= 1e-15 * max(ratio, 1e-300), f"gram {flags}: ratio")


def section_defaults() -> None:
    r = train("--width=8", "--steps=10")
    c = train("--target=constant:2", "--steps=10")
    if r and c:
        check(r["tol"] == 0 and r["rtol"] == 0.1, "default tolerance where R* > 0", str(r))
        check(c["min_risk"] == 0 and c["tol"] == 1e-6 and c["rtol"] == 0.1,
              "default tolerance where R* = 0", str(c))
        explicit = train("--width=8", "--steps=10", "--tol=1e-3")
        check(bool(explicit) and explicit["tol"] == 1e-3, "an explicit --tol is kept")


def main() -> int:
    global SGDMC, TMP
    SGDMC = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        TMP = Path(tmp)
        for section in (section_classes, section_at_step, section_gram, section_defaults):
            section()
    print(f"test_end_states: {'ok' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
