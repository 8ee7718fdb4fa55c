"""Certificates for ever and R*'s proven bracket, against independent computations.

usage: test_certificates.py SGDMC

1. permanence where docs/minimum.md proves it: a first-layer neuron dead on [0,1] and a
   second-layer neuron with incoming weights and bias <= 0, both at initialization, never
   move (bitwise) under every optimizer and timescale without decay, and only shrink under
   the contracting decays (plain SGD, clipped SGD, Lion); they are counted permanent;
2. every excluded case is not counted: Adam, momentum and signsgd with weight decay, l2 with
   Adam, a decay step lr * wd > 1; a dead layer with a skip into it is no constant network;
   neurons that die during training under momentum; Adam with weight decay really revives
   a dead neuron (so the exclusion is needed), and plain SGD's neurons dead at the end stay
   dead when training goes on;
3. no certified run ends converged, and every run's final risk is >= its reachable_lo; a
   diverged run is certified from the structure frozen since initialization (Var x^2 for a
   constant width-1 network; the bound of the same start without the blow-up);
4. the share of constant networks at initialization: (3/8)^width at depth 1 (closed form)
   and a numpy Monte Carlo with its own exact deadness test for deeper networks;
5. dead counts for normal inputs on all of R against an exact piecewise-linear computation
   in numpy (rays beyond the outermost breakpoints included);
6. R*'s lower bound: at depth 1 x^2's proven R*(w) = 4/(45 (2w+1)^4), so the bracket
   closes (and an independent brute force over kinks and orientations at widths 1-2 finds
   nothing below it); deeper x^2's piece bound 1/(180 P^4); sin's grid bound below the
   best fit with two pieces found by an independent scan (and within 5% of it), below
   R*(w) of the solver;
7. a results file of format 1 (without the brackets, constant networks and format_version)
   is still summarized by sgdmc summarize and the analysis package.
"""
from __future__ import annotations

import json
import math
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
    certified, converged = result["certified_nonconvergent"], result["status"] == "converged"
    check(not (certified and converged), f"certified and converged: {flags}")
    if result["reachable_lo"] is not None and result["final_risk"] is not None:
        check(result["final_risk"] >= result["reachable_lo"],
              f"final risk below reachable_lo: {flags}", str(result))
    return result


def read_params(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f[k][...] for k in f}


def write_params(path: Path, params: dict[str, np.ndarray]) -> None:
    with h5py.File(path, "w") as f:
        for k, v in params.items():
            f[k] = v


def stuck_network(name: str, bias: float = -0.1) -> Path:
    """Depth 2, width 3, seed 1, with first-layer neuron 0 dead on [0,1] (w = -0.5,
    b = bias <= 0) and second-layer neuron 0 with incoming weights and bias <= 0."""
    start = TMP / f"{name}_start.h5"
    train("--depth=2", "--width=3", "--steps=0", "--seed=1", f"--save={start}")
    p = read_params(start)
    p["W1"][0, 0], p["b1"][0] = -0.5, bias
    p["W2"][0, :] = -np.abs(p["W2"][0, :])
    p["b2"][0] = -abs(p["b2"][0]) - 0.1
    path = TMP / f"{name}.h5"
    write_params(path, p)
    return path


def frozen_coordinates(p: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([p["W1"][0], p["b1"][:1], p["W2"][0], p["b2"][:1]])


def section_permanence() -> None:
    cases: list[tuple[str, list[str]]] = []
    for opt in ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamax", "amsgrad",
                "nadam", "signsgd", "normalized_sgd", "clipped_sgd", "lion"]:
        cases.append((opt, [f"--optimizer={opt}"]))
    for opt in ["sgd", "momentum", "signsgd", "normalized_sgd", "clipped_sgd", "lion"]:
        for ts in ["single", "two"]:
            cases.append((f"{opt} {ts}", [f"--optimizer={opt}", f"--timescale={ts}"]))
    init = stuck_network("stuck")
    before = frozen_coordinates(read_params(init))
    for name, flags in cases:
        end = TMP / "end.h5"
        r = train("--depth=2", "--width=3", f"--init={init}", "--steps=400", "--lr=0.01",
                  f"--save={end}", *flags)
        if not r:
            continue
        after = frozen_coordinates(read_params(end))
        check(np.array_equal(before, after), f"permanence, {name}: a frozen coordinate moved",
              f"{before} -> {after}")
        check(r["dead_permanent_init"][0] >= 1 and r["dead_permanent_init"][1] >= 1 and
              r["dead_permanent_final"][0] >= 1 and r["dead_permanent_final"][1] >= 1,
              f"permanence, {name}: not counted", str(r["dead_permanent_init"]))
    # contracting decays: frozen coordinates only shrink towards 0, keep their signs
    for name, flags in [("sgd, weight decay", ["--optimizer=sgd", "--weight_decay=0.5"]),
                        ("sgd, l2", ["--optimizer=sgd", "--l2=0.5"]),
                        ("clipped_sgd, weight decay", ["--optimizer=clipped_sgd",
                                                       "--weight_decay=0.5"]),
                        ("lion, weight decay", ["--optimizer=lion", "--weight_decay=0.5"])]:
        end = TMP / "end.h5"
        r = train("--depth=2", "--width=3", f"--init={init}", "--steps=400", "--lr=0.01",
                  f"--save={end}", *flags)
        if not r:
            continue
        after = frozen_coordinates(read_params(end))
        shrunk = np.all(np.abs(after) <= np.abs(before)) and np.all(after * before >= 0)
        check(bool(shrunk), f"contraction, {name}: a frozen coordinate grew or changed sign",
              f"{before} -> {after}")
        check(r["dead_permanent_final"][0] >= 1 and r["dead_permanent_final"][1] >= 1 and
              r["dead_final"][0] >= 1, f"contraction, {name}: not counted or revived", str(r))


def section_exclusions() -> None:
    init = stuck_network("fragile", bias=-1e-4)
    p = read_params(init)
    p["W1"][0, 0] = -1e-4
    write_params(init, p)
    for name, flags in [("adam, weight decay", ["--optimizer=adam", "--weight_decay=0.01"]),
                        ("adam, l2", ["--optimizer=adam", "--l2=0.01"]),
                        ("momentum, weight decay", ["--optimizer=momentum",
                                                    "--weight_decay=0.01"]),
                        ("signsgd, weight decay", ["--optimizer=signsgd", "--weight_decay=0.01"]),
                        ("sgd, lr * wd > 1", ["--optimizer=sgd", "--lr=0.5",
                                              "--weight_decay=3"]),
                        # 0.1 x 10 rounds to 1, and b - 0.1 (10 b) lands on the far side of 0
                        ("sgd, lr * wd rounds to 1", ["--optimizer=sgd", "--lr=0.1",
                                                      "--weight_decay=10"]),
                        # 0 / (sqrt(0) + 0) = NaN: a dead coordinate does not stay put
                        ("adam, eps 0", ["--optimizer=adam", "--eps=0"])]:
        end = TMP / "end.h5"
        r = train("--depth=2", "--width=3", f"--init={init}", "--steps=300", f"--save={end}",
                  *flags)
        if not r:
            continue
        check(r["dead_permanent_init"] == [0, 0] and r["dead_permanent_final"] in ([0, 0], None),
              f"exclusion, {name}: counted permanent",
              f"{r['dead_permanent_init']} {r['dead_permanent_final']}")
        if name == "adam, weight decay":
            # the decay's gradient wd x, normalized by Adam, moves b1[0] by about lr past 0
            # in one step: the neuron is alive again on [0,1]
            r = train("--depth=2", "--width=3", f"--init={init}", "--steps=1", f"--save={end}",
                      *flags)
            q = read_params(end)
            revived = q["b1"][0] > 0 or q["W1"][0, 0] + q["b1"][0] > 0
            check(bool(revived), "exclusion, adam with weight decay: the dead neuron stayed "
                  "dead, so the test does not show why it is excluded",
                  f"w {q['W1'][0, 0]}, b {q['b1'][0]}")
            check(r["dead_init"][0] >= 1 and r["dead_final"][0] < r["dead_init"][0],
                  "exclusion, adam with weight decay: sgdmc does not see the revival",
                  f"{r['dead_init']} -> {r['dead_final']}")
    # a whole dead layer with a skip into it passes the layer below: not constant
    start = TMP / "skip_start.h5"
    train("--depth=2", "--width=2", "--skip", "--steps=0", "--seed=3", f"--save={start}")
    p = read_params(start)
    p["W2"][...] = -np.abs(p["W2"]) - 0.1
    p["b2"][...] = -0.5
    p["W1"][0, 0], p["b1"][0] = 1.0, 0.0  # a live first layer
    write_params(TMP / "skip.h5", p)
    r = train("--depth=2", "--width=2", "--skip", f"--init={TMP / 'skip.h5'}", "--steps=0")
    if r:
        check(r["dead_init"][1] == 2 and r["constant_init"] is False,
              "skip: a dead layer behind a skip counted as a constant network", str(r))
        check(r["reachable_lo"] is None or r["reachable_lo"] < 4 / 45 * 0.999,
              "skip: the reachable bound is the constant network's variance", str(r))
    # a dead layer under l2: the layers below shrink, so it is no frozen constant network
    start = TMP / "layer_start.h5"
    train("--depth=2", "--width=2", "--steps=0", "--seed=3", f"--save={start}")
    p = read_params(start)
    p["W1"][...] = np.abs(p["W1"]) + 0.1
    p["b1"][...] = 0.5  # h1 >= 0.5 on [0, 1]
    p["W2"][...] = -1.0
    p["b2"][...] = 0.2  # a positive bias: not (b), dead only because W2 h1 <= -0.8
    write_params(TMP / "layer.h5", p)
    r = train("--depth=2", "--width=2", f"--init={TMP / 'layer.h5'}", "--steps=0")
    r_l2 = train("--depth=2", "--width=2", f"--init={TMP / 'layer.h5'}", "--steps=0",
                 "--l2=0.01")
    if r and r_l2:
        check(r["constant_init"] is True and r["dead_permanent_init"][1] == 2,
              "layer: a whole dead layer without decay is not frozen", str(r))
        check(r_l2["constant_init"] is True and r_l2["dead_permanent_init"][1] == 0,
              "layer: a whole dead layer under l2 counted frozen", str(r_l2))
    # neurons that die during training: frozen under plain SGD, not under momentum
    died = {"sgd": 0, "momentum": 0}
    for opt in died:
        for seed in range(40):
            end = TMP / "died.h5"
            r = train("--width=6", f"--optimizer={opt}", "--lr=0.5", "--steps=300",
                      f"--seed={seed}", f"--save={end}")
            if not r or r["status"] == "diverged" or r["dead_final"][0] <= r["dead_init"][0]:
                continue
            died[opt] += 1
            if opt == "momentum":
                check(r["dead_permanent_final"][0] == r["dead_permanent_init"][0],
                      f"died under momentum, seed {seed}: counted permanent", str(r))
                continue
            check(r["dead_permanent_final"][0] == r["dead_final"][0],
                  f"died under sgd, seed {seed}: not counted permanent", str(r))
            # and training on from there never moves them (memoryless, no decay)
            q = read_params(end)
            more = TMP / "more.h5"
            train("--width=6", "--optimizer=sgd", "--lr=0.5", "--steps=300", f"--init={end}",
                  f"--save={more}")
            s = read_params(more)
            dead = (q["b1"] <= 0) & (q["W1"][:, 0] + q["b1"] <= 0)
            check(np.array_equal(q["W1"][dead], s["W1"][dead]) and
                  np.array_equal(q["b1"][dead], s["b1"][dead]),
                  f"died under sgd, seed {seed}: a dead neuron moved on")
    check(died["sgd"] > 0 and died["momentum"] > 0,
          f"no run lost a neuron during training (sgd {died['sgd']}, momentum "
          f"{died['momentum']}): the test needs some")


def section_diverged() -> None:
    """A diverged run has no end point, but its structure frozen since initialization
    bounds every risk it reached: the certificate is decided from that alone."""
    start = TMP / "w1_start.h5"
    train("--width=1", "--steps=0", "--seed=1", f"--save={start}")
    p = read_params(start)
    for name, w, b in [("dead", -0.5, -0.1), ("live", 0.5, 0.1)]:
        p["W1"][0, 0], p["b1"][0] = w, b
        init = TMP / f"w1_{name}.h5"
        write_params(init, p)
        for opt in ["sgd", "momentum", "adam"]:
            # lr 5 on the output bias alone multiplies its error by 1 - 2 lr = -9 a step
            r = train("--width=1", f"--init={init}", "--steps=2000", "--lr=5",
                      f"--optimizer={opt}")
            if not r:
                continue
            if opt != "adam":
                check(r["status"] == "diverged", f"diverged, {name} {opt}: did not diverge",
                      str(r["status"]))
            if name == "dead":
                # one dead neuron at width 1: the network is constant for ever, Var x^2 = 4/45
                lo = r["reachable_lo"]
                check(lo is not None and 4 / 45 * (1 - 1e-9) <= lo <= 4 / 45,
                      f"diverged, {name} {opt}: reachable_lo is not Var x^2", str(lo))
                check(r["certified_nonconvergent"] is True,
                      f"diverged, {name} {opt}: a constant network not certified", str(r))
            else:
                check(r["certified_nonconvergent"] is False and r["reachable_lo"] is None,
                      f"diverged, {name} {opt}: certified without a dead neuron at the start",
                      str(r))
    # deeper, under momentum (which freezes nothing at the end): a diverged run's bound is
    # the one the same start reaches without diverging
    init = stuck_network("stuck_diverged")
    calm = train("--depth=2", "--width=3", f"--init={init}", "--steps=200", "--lr=0.001",
                 "--optimizer=momentum")
    wild = train("--depth=2", "--width=3", f"--init={init}", "--steps=200", "--lr=50",
                 "--optimizer=momentum")
    if calm and wild:
        check(wild["status"] == "diverged" and calm["status"] != "diverged",
              "diverged, depth 2: the runs do not split", f"{calm['status']} {wild['status']}")
        check(calm["reachable_lo"] is not None and wild["reachable_lo"] == calm["reachable_lo"]
              and wild["certified_nonconvergent"] == calm["certified_nonconvergent"],
              "diverged, depth 2: the frozen structure's bound differs",
              f"{calm['reachable_lo']} {wild['reachable_lo']}")


def pieces_dead_on_interval(W: list[np.ndarray], b: list[np.ndarray], lo: float,
                            hi: float) -> list[np.ndarray]:
    """Per hidden layer, which neurons are <= 0 on [lo, hi] (lo, hi may be infinite), by
    an exact piecewise-linear representation: each neuron's pre-activation as slopes and
    intercepts on the pieces between the sorted breakpoints found so far, refined layer
    by layer at the roots of the new pre-activations."""
    knots = np.array([], dtype=float)  # breakpoints inside (lo, hi)
    # the current layer's outputs on each piece: h = A x + B, arrays [pieces, width]
    def pieces_of(knots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        left = np.concatenate([[lo], knots])
        right = np.concatenate([knots, [hi]])
        # a point inside each piece (finite even on infinite pieces)
        inside = np.array([0.0 if math.isinf(a) and math.isinf(z) else z - 1.0 if math.isinf(a)
                           else a + 1.0 if math.isinf(z) else 0.5 * (a + z)
                           for a, z in zip(left, right)])
        return left, right, inside
    dead_layers = []
    for k in range(len(W) - 1):
        # refine until layer k's pre-activations have no root inside a piece
        while True:
            left, right, inside = pieces_of(knots)
            slope, value = _affine_pieces(W, b, k, inside)
            new = []
            for i in range(len(inside)):
                for j in range(slope.shape[1]):
                    s, v = slope[i, j], value[i, j]
                    if s == 0:
                        continue
                    root = inside[i] - v / s
                    if left[i] < root < right[i] and not np.isclose(root, knots).any():
                        new.append(root)
            if not new:
                break
            knots = np.sort(np.concatenate([knots, np.array(new)]))
        left, right, inside = pieces_of(knots)
        slope, value = _affine_pieces(W, b, k, inside)
        # max of z over each piece: at its ends (+inf on an infinite end with growth there)
        dead = np.ones(slope.shape[1], dtype=bool)
        for i in range(len(inside)):
            for end in (left[i], right[i]):
                if math.isinf(end):
                    grows = slope[i] * np.sign(end) > 0
                    level = value[i] + slope[i] * 0  # flat pieces keep their value
                    dead &= ~grows & ~((slope[i] == 0) & (level > 0))
                else:
                    dead &= value[i] + slope[i] * (end - inside[i]) <= 0
        dead_layers.append(dead)
    return dead_layers


def _affine_pieces(W: list[np.ndarray], b: list[np.ndarray], k: int,
                   xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and value at xs of layer k's pre-activations, each piece around xs[i]."""
    slope = np.ones((len(xs), 1))
    value = xs[:, None].astype(float)
    for layer in range(k + 1):
        z_slope = slope @ W[layer].T
        z_value = value @ W[layer].T + b[layer]
        if layer == k:
            return z_slope, z_value
        on = z_value > 0
        slope, value = np.where(on, z_slope, 0.0), np.where(on, z_value, 0.0)
    raise AssertionError("unreachable")


def section_constant_share() -> None:
    """P(constant at init): sgdmc's share over seeds against (3/8)^w and numpy."""
    config = TMP / "constant.cfg"
    config.write_text('name = "constant"; seeds = 3000;\n'
                      'grid = { depth = [1, 2, 3, 4]; width = [1, 2, 3]; };\n'
                      'train = { steps = 0; gram_points = 0; };\n')
    out = TMP / "constant.h5"
    run = subprocess.run([SGDMC, "study", str(config), f"--output={out}", "--quiet"],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OMPI_MCA_pml": "ob1"})
    check(run.returncode == 0, "constant share study", run.stderr)
    if run.returncode != 0:
        return
    with h5py.File(out, "r") as f:
        depth, width = f["runs/depth"][...], f["runs/width"][...]
        constant = f["runs/constant_init"][...]
    rng = np.random.default_rng(12345)
    for d in (1, 2, 3, 4):
        for w in (1, 2, 3):
            mine = constant[(depth == d) & (width == w)]
            n = len(mine)
            share = float(np.mean(mine == 1))
            trials = 4000
            hits = 0
            for _ in range(trials):
                widths = [1] + [w] * d + [1]
                W = [rng.uniform(-1, 1, (widths[i + 1], widths[i])) for i in range(d + 1)]
                b = [rng.uniform(-1, 1, widths[i + 1]) for i in range(d + 1)]
                dead = pieces_dead_on_interval(W, b, 0.0, 1.0)
                hits += any(layer.all() for layer in dead)
            reference = hits / trials
            if d == 1:
                check(abs(reference - 0.375 ** w) < 5 * math.sqrt(0.375 ** w / trials),
                      f"numpy Monte Carlo off the closed form at width {w}")
                reference_se = math.sqrt(0.375 ** w * (1 - 0.375 ** w) / n)
                check(abs(share - 0.375 ** w) <= 4.5 * reference_se,
                      f"constant at init, depth 1 width {w}: {share:.4f} vs (3/8)^{w}")
            se = math.sqrt(share * (1 - share) / n + reference * (1 - reference) / trials) or 1e-9
            print(f"  constant at init, depth {d} width {w}: sgdmc {share:.4f} ({n} seeds), "
                  f"numpy {reference:.4f} ({trials} draws), {(share - reference) / se:+.2f} SE")
            check(abs(share - reference) <= 4.5 * se,
                  f"constant at init, depth {d} width {w}: {share:.4f} vs numpy {reference:.4f}")


def section_normal_dead() -> None:
    """Normal inputs: dead on all of R, against the exact numpy computation."""
    mismatches = 0
    for seed in range(60):
        path = TMP / "normal.h5"
        r = train("--input=normal", "--depth=3", "--width=6", "--steps=0", f"--seed={seed}",
                  f"--save={path}")
        if not r:
            continue
        p = read_params(path)
        W = [p[f"W{k}"] for k in range(1, 5)]
        b = [p[f"b{k}"] for k in range(1, 5)]
        dead = pieces_dead_on_interval(W, b, -math.inf, math.inf)
        counts = [int(layer.sum()) for layer in dead]
        if counts != r["dead_init"]:
            mismatches += 1
            print(f"  seed {seed}: sgdmc {r['dead_init']}, numpy on R {counts}")
    check(mismatches == 0, f"normal inputs: {mismatches} of 60 networks' dead counts differ "
          "from the exact computation on R")


def best_line_error(a: float, b: float, g: Any, nodes: np.ndarray, weights: np.ndarray) -> float:
    """min over lines of int_a^b (g - line)^2 by Gauss-Legendre on 8 panels."""
    edges = np.linspace(a, b, 9)
    xs = np.concatenate([0.5 * (l + r) + 0.5 * (r - l) * nodes for l, r in zip(edges, edges[1:])])
    ws = np.concatenate([0.5 * (r - l) * weights for l, r in zip(edges, edges[1:])])
    basis = np.stack([np.ones_like(xs), xs - 0.5 * (a + b)], axis=1)
    gram = basis.T @ (ws[:, None] * basis)
    coef = np.linalg.solve(gram, basis.T @ (ws * g(xs)))
    return float(ws @ (g(xs) - basis @ coef) ** 2)


def one_layer_brute_force(width: int, grid: int) -> float:
    """x^2's least risk over c + sum_i a_i relu(s_i (x - t_i)) on U[0,1], s_i = +-1, the t_i
    on a grid of [0,1] (t = 0 or 1: a neuron affine on the domain), the c and a_i by exact
    least squares: Gauss-Legendre on each piece between the kinks is exact for these
    degree-4 integrands."""
    nodes, weights = np.polynomial.legendre.leggauss(4)
    ts = np.linspace(0.0, 1.0, grid + 1)
    best = math.inf
    kink_sets = [(t,) for t in ts] if width == 1 else \
        [(t1, t2) for i, t1 in enumerate(ts) for t2 in ts[i:]]
    for kinks in kink_sets:
        edges = sorted({0.0, 1.0, *kinks})
        xs = np.concatenate([0.5 * (l + r) + 0.5 * (r - l) * nodes
                             for l, r in zip(edges, edges[1:])])
        ws = np.concatenate([0.5 * (r - l) * weights for l, r in zip(edges, edges[1:])])
        for signs in np.ndindex(*(2,) * width):
            basis = [np.ones_like(xs)] + [np.maximum((1 - 2 * s) * (xs - t), 0.0)
                                          for s, t in zip(signs, kinks)]
            a = np.stack(basis, axis=1) * np.sqrt(ws)[:, None]
            y = xs ** 2 * np.sqrt(ws)
            coef, *_ = np.linalg.lstsq(a, y, rcond=None)
            best = min(best, float(np.sum((y - a @ coef) ** 2)))
    return best


def section_lower_bounds() -> None:
    # depth 1: R*(w) = 4/(45 (2w+1)^4) is proven (docs/minimum.md), so lo closes the bracket
    for w in range(0, 9):
        r = train(f"--width={w}", "--steps=0") if w > 0 else None
        exact = 4 / (45 * (2 * w + 1) ** 4)
        if r:
            check(r["min_risk_lo_source"] == "closed_form" and
                  exact * (1 - 1e-13) <= r["min_risk_lo"] <= exact * (1 + 1e-15) and
                  r["min_risk_lo"] <= r["min_risk"] and
                  r["min_risk"] <= exact * (1 + 1e-12),
                  f"x^2 width {w}: bracket [{r['min_risk_lo']}, {r['min_risk']}] is not "
                  f"R* = 4/(45 ({2 * w + 1})^4) = {exact}")
    # the proof's claim, checked by brute force over every kink pair on a grid and every
    # orientation: nothing beats 4/(45 (2w+1)^4), and the grid comes close to it
    for w, grid in ((1, 400), (2, 120)):
        brute = one_layer_brute_force(w, grid)
        exact = 4 / (45 * (2 * w + 1) ** 4)
        print(f"  x^2 one layer width {w}: brute force {brute:.10g}, closed form {exact:.10g}")
        check(exact * (1 - 1e-9) <= brute <= exact * 1.01,
              f"x^2 width {w}: brute force {brute} against 4/(45 (2w+1)^4) = {exact}")
    # deeper: the piece bound 1/(180 P^4), P = (w + 1)^2 at depth 2
    for w in (1, 2, 3):
        r = train(f"--width={w}", "--depth=2", "--steps=0")
        if r:
            closed = 1 / (180 * (w + 1) ** 8)
            check(r["min_risk_lo_source"] == "closed_form" and
                  abs(r["min_risk_lo"] - closed) <= 1e-13 * closed,
                  f"x^2 depth 2 width {w}: lower bound {r['min_risk_lo']} != "
                  f"1/(180 {(w + 1) ** 2}^4)")
    # sin with two pieces: an independent scan of the breakpoint
    nodes, weights = np.polynomial.legendre.leggauss(20)
    g = lambda x: np.sin(2 * np.pi * x)  # noqa: E731
    ts = np.linspace(0.001, 0.999, 999)
    scan = min(best_line_error(0, t, g, nodes, weights) + best_line_error(t, 1, g, nodes, weights)
               for t in ts)
    r = train("--target=sin", "--width=1", "--steps=0")
    if r:
        lo = r["min_risk_lo"]
        print(f"  sin, 2 pieces: grid bound {lo:.10g}, scanned best fit {scan:.10g}")
        check(r["min_risk_lo_source"] == "grid" and lo <= scan and lo >= 0.95 * scan,
              f"sin two pieces: bound {lo} against the scanned best {scan}")
    reference = subprocess.run([SGDMC, "reference", "--target=sin", "--widths=1,2,4,8,12",
                                "--format=json"], capture_output=True, text=True, timeout=300)
    for row in json.loads(reference.stdout or "[]"):
        r = train("--target=sin", f"--width={row['width']}", "--steps=0")
        if r:
            check(0 < r["min_risk_lo"] <= row["rstar"],
                  f"sin width {row['width']}: bound {r['min_risk_lo']} above R* {row['rstar']}")


def section_old_format() -> None:
    config = TMP / "old.cfg"
    config.write_text('name = "old"; seeds = 8; grid = { width = [1, 2]; };\n'
                      'train = { steps = 50; };\n')
    out = TMP / "old.h5"
    run = subprocess.run([SGDMC, "study", str(config), f"--output={out}", "--quiet"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMPI_MCA_pml": "ob1"})
    check(run.returncode == 0, "old format: the study", run.stderr)
    with h5py.File(out, "r+") as f:
        for name in ("min_risk_lo", "min_risk_lo_source", "reachable_lo", "constant_init",
                     "constant_final"):
            del f["runs"][name]
        del f.attrs["format_version"]
    summary = subprocess.run([SGDMC, "summarize", str(out), "--format=json"],
                             capture_output=True, text=True, timeout=60)
    check(summary.returncode == 0, "old format: sgdmc summarize refuses it", summary.stderr)
    if summary.returncode == 0:
        cells = json.loads(summary.stdout)["cells"]
        check(len(cells) == 2 and all(c["constant_at_init"] is None and c["done"] == 8
                                      for c in cells), "old format: summarize", summary.stdout)
    root = Path(__file__).resolve().parent.parent
    table = subprocess.run([sys.executable, "-m", "analysis", "table", str(out), "--format",
                            "json"], capture_output=True, text=True, timeout=120, cwd=root)
    check(table.returncode == 0 and '"done": 8' in table.stdout.replace("8.0", "8"),
          "old format: the analysis package", table.stderr[-300:])


def main() -> int:
    global SGDMC, TMP
    SGDMC = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        TMP = Path(tmp)
        for section in (section_permanence, section_exclusions, section_diverged,
                        section_constant_share,
                        section_normal_dead, section_lower_bounds, section_old_format):
            section()
    print(f"test_certificates: {'ok' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
