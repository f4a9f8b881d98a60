"""amref's optimizer steps against PyTorch's, update by update, on one thread, in one process.

For each rule the script times one training-loop update in both libraries on the same blocks:

* amref: :func:`amref.optim.apply_step` (``update`` and ``apply_updates``, fused where a kernel exists),
  both pure (new parameters and state in new arrays: a full-batch epoch's update) and donated (the new
  state written over the old one: the training loop's later updates in a mini-batch epoch);
* PyTorch: ``optimizer.step()`` of ``torch.optim`` with ``foreach=True`` (Adam, AdamW, SGD with momentum,
  RMSprop, Adagrad) or of ``pytorch_optimizer`` (Lion, Adan, AdaBelief, when installed), in place.

Both start from the same parameters and gradients (float32 by default) with the same hyperparameters
(amref's defaults; AdaBelief without rectification, pytorch_optimizer's default). The blocks are one
1000 × 1000 matrix (``block``) and the parameters of a 784-1000-1000-10 MLP (``mlp``: six blocks, biases
included). Every thread pool is set to one thread (OMP, MKL, OpenBLAS, Numba, ``torch.set_num_threads(1)``)
before anything is imported. After warm-up steps (Numba compilation, first allocations) the steps run round
robin, one of each kind per rule in turn, ``--rounds`` times; the table gives the medians, the ratios
amref / PyTorch of the medians (< 1: amref is faster), and the medians of the per-round ratios ("paired").

Usage::

    python benchmarks/optim_vs_torch.py                       # all rules, both cases, float32
    python benchmarks/optim_vs_torch.py --rules adam,lion --rounds 400 --dtype float64

Without PyTorch the script says so and exits 0; without pytorch_optimizer it skips Lion, Adan and AdaBelief
and says so. Measured figures: docs/guides/benchmarks.md.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from amref import optim  # noqa: E402
from amref.problem import MLP  # noqa: E402

#: rule → (amref name, amref option fields, PyTorch source, class name, keyword arguments)
RULES = {
    "adam": ("adam", {}, "torch", "Adam", {"lr": 1e-3}),
    "adamw": ("adamw", {}, "torch", "AdamW", {"lr": 1e-3, "weight_decay": 1e-2}),
    "momentum": ("momentum", {}, "torch", "SGD", {"lr": 1e-3, "momentum": 0.9}),
    "rmsprop": ("rmsprop", {}, "torch", "RMSprop", {"lr": 1e-2}),
    "adagrad": ("adagrad", {}, "torch", "Adagrad", {"lr": 1e-2}),
    "lion": ("lion", {}, "pytorch_optimizer", "Lion", {"lr": 1e-4}),
    "adan": ("adan", {}, "pytorch_optimizer", "Adan", {"lr": 1e-3, "weight_decay": 0.02}),  # proximal, as amref
    "adabelief": ("adabelief", {"rectify": False}, "pytorch_optimizer", "AdaBelief", {"lr": 1e-3}),
}


def shapes(case: str) -> list[tuple[int, ...]]:
    """The blocks of a case: one 1000 × 1000 matrix, or a 784-1000-1000-10 MLP's parameters."""
    if case == "block":
        return [(1000, 1000)]
    return list(MLP((784, 1000, 1000, 10)).param_shapes())


class AmrefStepper:
    """One amref update per call, the state and parameters carried along (as the training loop does)."""

    def __init__(self, name: str, fields: dict, params: list, grads: list, donate: bool):
        self.opt = optim.optimizer(name, **fields)
        self.params, self.grads, self.donate = [p.copy() for p in params], grads, donate
        self.state = self.opt.init(self.params)

    def __call__(self) -> None:
        self.params, self.state = optim.apply_step(self.opt, self.grads, self.state, self.params,
                                                   donate=self.donate)


class TorchStepper:
    """One ``optimizer.step()`` per call, the gradients set once."""

    def __init__(self, cls, kwargs: dict, params: list, grads: list, torch):
        self.tensors = [torch.tensor(p).requires_grad_() for p in params]
        for t, g in zip(self.tensors, grads):
            t.grad = torch.tensor(g)
        self.opt = cls(self.tensors, **kwargs, foreach=True)  # both libraries' batched (multi-tensor) path

    def __call__(self) -> None:
        self.opt.step()


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(rules: list[str], cases: list[str], dtype: str, rounds: int, warmup: int, torch, modules: dict) -> list[dict]:
    """Time every (case, rule) pair round robin; one row per pair."""
    rng = np.random.default_rng(0)
    rows = []
    for case in cases:
        params = [rng.standard_normal(s).astype(dtype) for s in shapes(case)]
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes(case)]
        steppers = {}
        for rule in rules:
            name, fields, source, cls_name, kwargs = RULES[rule]
            torch_cls = getattr(modules[source], cls_name)
            steppers[rule] = (AmrefStepper(name, fields, params, grads, False),
                              AmrefStepper(name, fields, params, grads, True),
                              TorchStepper(torch_cls, kwargs, params, grads, torch))
        for _ in range(warmup):
            for fns in steppers.values():
                for fn in fns:
                    fn()
        times = {rule: ([], [], []) for rule in rules}
        for k in range(rounds):
            for rule, fns in steppers.items():
                for j in range(3):  # rotate the order: each kind runs first, second and third alike
                    i = (j + k) % 3
                    times[rule][i].append(_time(fns[i]))
        for rule, (tp, td, tt) in times.items():
            med = [statistics.median(x) for x in (tp, td, tt)]
            rows.append({
                "case": case, "rule": rule, "pure_ms": 1e3 * med[0], "donated_ms": 1e3 * med[1],
                "torch_ms": 1e3 * med[2], "pure_ratio": med[0] / med[2], "donated_ratio": med[1] / med[2],
                "pure_paired": statistics.median(a / b for a, b in zip(tp, tt)),
                "donated_paired": statistics.median(a / b for a, b in zip(td, tt)),
            })
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated subset of " + ", ".join(RULES))
    parser.add_argument("--cases", default="block,mlp", help="block (1000 × 1000) and/or mlp (784-1000-1000-10)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=200, help="timed steps per rule and library (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    args = parser.parse_args(argv)

    try:
        import torch
    except ImportError:
        print("optim_vs_torch: PyTorch is not installed; nothing to compare with (pip install torch). Skipped.")
        return 0
    torch.set_num_threads(1)
    modules = {"torch": torch.optim}
    rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        parser.error(f"unknown rules {unknown}; choose from {', '.join(RULES)}")
    try:
        import pytorch_optimizer
        modules["pytorch_optimizer"] = pytorch_optimizer
    except ImportError:
        missing = [r for r in rules if RULES[r][2] == "pytorch_optimizer"]
        if missing:
            print(f"optim_vs_torch: pytorch_optimizer is not installed; skipping {', '.join(missing)} "
                  "(pip install pytorch_optimizer)")
        rules = [r for r in rules if r not in missing]

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    rows = run(rules, cases, args.dtype, args.rounds, args.warmup, torch, modules)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.dtype}, one thread, torch {torch.__version__}, {args.rounds} rounds, load {load:.1f}")
    print("ms per update (medians); ratio = amref / PyTorch of the medians (paired: median of per-round ratios)")
    print(f"{'case':<6} {'rule':<10} {'pure':>7} {'donated':>8} {'torch':>7} {'pure ratio':>17} "
          f"{'donated ratio':>17}")
    for r in rows:
        print(f"{r['case']:<6} {r['rule']:<10} {r['pure_ms']:7.3f} {r['donated_ms']:8.3f} {r['torch_ms']:7.3f} "
              f"{r['pure_ratio']:9.2f} ({r['pure_paired']:.2f}) {r['donated_ratio']:9.2f} ({r['donated_paired']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
