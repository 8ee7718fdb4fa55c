#!/usr/bin/python3
"""Generates optimizers.h5: reference parameter trajectories for every optimizer.

Run once with PyTorch installed (Debian: python3-torch); the C test
tests/test_optimizers.c replays each case with `sgdmc` and compares every step.
CI uses the committed file and needs no PyTorch.

The file is at once a data file (x [64, 2], y [64, 1]), an initialization file
(W1, b1, W2, b2, W3, b3 of a 2-5-4-1 tanh network) and the reference:
/cases/<name> holds a `flags` attribute (the sgdmc flags of the case) and a
dataset `params` [steps + 1, n], the flat parameters (W1, b1, W2, ...) before
the first and after every full-batch step.

The PyTorch-defined optimizers run through torch.optim itself, except NAdam:
Debian's torch 1.13 computes mu_product_next = mu_product * mu * mu_next, which
PyTorch 2.0 fixed to mu_product * mu_next; the rule of current PyTorch is
written out below. signsgd, normalized_sgd, clipped_sgd, lion and paper 003's
momentum framework follow the formulas of the issue, written with torch tensors.
"""
import math
import sys
from pathlib import Path
from typing import Callable, List

import h5py
import numpy as np
import torch

STEPS = 25
torch.set_default_dtype(torch.float64)


def make_network(rng: np.random.Generator) -> torch.nn.Sequential:
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 5), torch.nn.Tanh(),
        torch.nn.Linear(5, 4), torch.nn.Tanh(),
        torch.nn.Linear(4, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-1.0, 1.0, size=tuple(p.shape))))
    return net


def flat(net: torch.nn.Module) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in net.parameters()])


def loss_of(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((net(x) - y) ** 2).sum(1).mean()


Update = Callable[[List[torch.Tensor], int, float], None]


def run_case(init: torch.nn.Module, x, y, update: Update, lr_of: Callable[[int], float]):
    """Full-batch steps with a hand-written update(params, step, lr) on the flat vector."""
    net = make_copy(init)
    params = list(net.parameters())
    trajectory = [flat(net)]
    for k in range(STEPS):
        for p in params:
            p.grad = None
        loss_of(net, x, y).backward()
        with torch.no_grad():
            update(params, k, lr_of(k))
        trajectory.append(flat(net))
    return np.array(trajectory)


def run_torch(init, x, y, make_opt, lr_of: Callable[[int], float] = None):
    net = make_copy(init)
    opt = make_opt(net.parameters())
    trajectory = [flat(net)]
    for k in range(STEPS):
        if lr_of is not None:
            for group in opt.param_groups:
                group["lr"] = lr_of(k)
        opt.zero_grad()
        loss_of(net, x, y).backward()
        opt.step()
        trajectory.append(flat(net))
    return np.array(trajectory)


def make_copy(net: torch.nn.Module) -> torch.nn.Module:
    import copy
    return copy.deepcopy(net)


def whole(params):
    """The gradient of all parameters as one vector (norms are global)."""
    return torch.cat([p.grad.reshape(-1) for p in params])


def apply(params, delta: torch.Tensor) -> None:
    offset = 0
    for p in params:
        n = p.numel()
        p -= delta[offset:offset + n].reshape(p.shape)
        offset += n


def values(params) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def direction(kind: str, d: torch.Tensor, clip: float = 1.0) -> torch.Tensor:
    if kind == "sign":
        return torch.sign(d)
    norm = torch.linalg.norm(d)
    if norm == 0:
        return torch.zeros_like(d)
    if kind == "normalize":
        return d / norm
    if kind == "clip":
        return d * min(1.0, clip / norm.item())
    return d


def plain(kind: str, clip: float = 1.0) -> Update:
    def update(params, k, lr):
        apply(params, lr * direction(kind, whole(params), clip))
    return update


def framework(kind: str, theta_of: Callable[[float], float], clip: float = 1.0) -> Update:
    """Paper 003: m <- m + theta_k (g - m) with m_0 = g_0; x <- x - eta_k D(m)."""
    state = {}

    def update(params, k, lr):
        g = whole(params)
        state["m"] = g.clone() if k == 0 else state["m"] + theta_of(lr) * (g - state["m"])
        apply(params, lr * direction(kind, state["m"], clip))
    return update


def lion(b1: float = 0.9, b2: float = 0.99, wd: float = 0.0,
         theta_of: Callable[[float], float] | None = None) -> Update:
    """Lion; in paper 003's single timescale the momentum rate 1 - b2 becomes theta_k."""
    state = {}

    def update(params, k, lr):
        g = whole(params)
        m = state.get("m", torch.zeros_like(g))
        x = values(params)
        apply(params, lr * (torch.sign(b1 * m + (1 - b1) * g) + wd * x))
        rate = 1 - b2 if theta_of is None else theta_of(lr)
        state["m"] = m + rate * (g - m)
    return update


def nadam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, wd: float = 0.0) -> Update:
    """torch.optim.NAdam of PyTorch >= 2.0 (single-tensor path)."""
    state = {"mu_product": 1.0}

    def update(params, k, lr):
        g = whole(params) + wd * values(params)
        t = k + 1
        m = state.get("m", torch.zeros_like(g))
        v = state.get("v", torch.zeros_like(g))
        bc2 = 1 - b2 ** t
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * 4e-3))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * 4e-3))
        state["mu_product"] *= mu
        mu_product_next = state["mu_product"] * mu_next
        m = m * b1 + (1 - b1) * g
        v = v * b2 + (1 - b2) * g * g
        denom = (v / bc2).sqrt() + eps
        delta = lr * (1 - mu) / (1 - state["mu_product"]) * g / denom
        delta = delta + lr * mu_next / (1 - mu_product_next) * m / denom
        apply(params, delta)
        state["m"], state["v"] = m, v
    return update


def main(out: Path) -> None:
    rng = np.random.default_rng(20261123)
    x_np = rng.uniform(0.0, 1.0, size=(64, 2))
    y_np = np.sin(2 * math.pi * x_np.sum(1, keepdims=True)) + 0.1 * rng.normal(size=(64, 1))
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    init = make_network(rng)
    o = torch.optim
    const = lambda lr: (lambda k: lr)  # noqa: E731
    power = lambda lr, g, k0: (lambda k: lr / (k + k0) ** g)  # noqa: E731

    cases = {
        "sgd": ("--optimizer=sgd --lr=0.1", run_torch(init, x, y, lambda p: o.SGD(p, lr=0.1))),
        "sgd_weight_decay": ("--optimizer=sgd --lr=0.1 --weight_decay=0.05",
                             run_torch(init, x, y, lambda p: o.SGD(p, lr=0.1, weight_decay=0.05))),
        "sgd_power_schedule": ("--optimizer=sgd --lr=0.3 --lr_schedule=power:0.6,2",
                               run_torch(init, x, y, lambda p: o.SGD(p, lr=0.3),
                                         power(0.3, 0.6, 2.0))),
        "momentum": ("--optimizer=momentum --lr=0.05",
                     run_torch(init, x, y, lambda p: o.SGD(p, lr=0.05, momentum=0.9))),
        "nesterov": ("--optimizer=nesterov --lr=0.05",
                     run_torch(init, x, y, lambda p: o.SGD(p, lr=0.05, momentum=0.9,
                                                           nesterov=True))),
        "adagrad": ("--optimizer=adagrad --lr=0.1",
                    run_torch(init, x, y, lambda p: o.Adagrad(p, lr=0.1))),
        "rmsprop": ("--optimizer=rmsprop --lr=0.01",
                    run_torch(init, x, y, lambda p: o.RMSprop(p, lr=0.01))),
        "rmsprop_momentum": ("--optimizer=rmsprop --lr=0.01 --momentum=0.5",
                             run_torch(init, x, y, lambda p: o.RMSprop(p, lr=0.01, momentum=0.5))),
        "adam": ("--optimizer=adam --lr=0.02", run_torch(init, x, y, lambda p: o.Adam(p, lr=0.02))),
        "adam_weight_decay": ("--optimizer=adam --lr=0.02 --weight_decay=0.1 --beta1=0.8",
                              run_torch(init, x, y, lambda p: o.Adam(p, lr=0.02, weight_decay=0.1,
                                                                     betas=(0.8, 0.999)))),
        "adamax": ("--optimizer=adamax --lr=0.02",
                   run_torch(init, x, y, lambda p: o.Adamax(p, lr=0.02))),
        "amsgrad": ("--optimizer=amsgrad --lr=0.02 --beta2=0.9",
                    run_torch(init, x, y, lambda p: o.Adam(p, lr=0.02, betas=(0.9, 0.9),
                                                           amsgrad=True))),
        "nadam": ("--optimizer=nadam --lr=0.02", run_case(init, x, y, nadam(), const(0.02))),
        "signsgd": ("--optimizer=signsgd --lr=0.01", run_case(init, x, y, plain("sign"),
                                                              const(0.01))),
        "normalized_sgd": ("--optimizer=normalized_sgd --lr=0.05",
                           run_case(init, x, y, plain("normalize"), const(0.05))),
        "clipped_sgd": ("--optimizer=clipped_sgd --lr=0.1 --clip=0.5",
                        run_case(init, x, y, plain("clip", 0.5), const(0.1))),
        "lion": ("--optimizer=lion --lr=0.001", run_case(init, x, y, lion(), const(0.001))),
        "lion_weight_decay": ("--optimizer=lion --lr=0.001 --weight_decay=0.5 --beta1=0.8",
                              run_case(init, x, y, lion(b1=0.8, wd=0.5), const(0.001))),
        "lion_single_timescale": (
            "--optimizer=lion --timescale=single --tau=20 --lr=0.01 --lr_schedule=power:0.5",
            run_case(init, x, y, lion(theta_of=lambda lr: min(1.0, 20 * lr)),
                     power(0.01, 0.5, 1.0))),
        "momentum_two_timescale": ("--optimizer=momentum --timescale=two --momentum=0.8 --lr=0.05",
                                   run_case(init, x, y, framework("identity", lambda lr: 0.2),
                                            const(0.05))),
        "signsgd_single_timescale": (
            "--optimizer=signsgd --timescale=single --tau=5 --lr=0.02 --lr_schedule=power:0.5",
            run_case(init, x, y, framework("sign", lambda lr: min(1.0, 5 * lr)),
                     power(0.02, 0.5, 1.0))),
        "normalized_sgd_two_timescale": (
            "--optimizer=normalized_sgd --timescale=two --lr=0.05",
            run_case(init, x, y, framework("normalize", lambda lr: 0.1), const(0.05))),
        "clipped_sgd_single_timescale": (
            "--optimizer=clipped_sgd --timescale=single --tau=2 --clip=0.3 --lr=0.1",
            run_case(init, x, y, framework("clip", lambda lr: min(1.0, 2 * lr), 0.3),
                     const(0.1))),
    }
    with h5py.File(out, "w") as f:
        f["x"], f["y"] = x_np, y_np
        for k, layer in enumerate([init[0], init[2], init[4]], start=1):
            f[f"W{k}"] = layer.weight.detach().numpy()
            f[f"b{k}"] = layer.bias.detach().numpy()
        f.attrs["network_flags"] = "--depth=2 --widths=5,4 --activation=tanh"
        f.attrs["generator"] = f"make_optimizer_reference.py with torch {torch.__version__}"
        for name, (flags, params) in cases.items():
            group = f.create_group(f"cases/{name}")
            group.attrs["flags"] = flags
            group["params"] = params


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("optimizers.h5"))
