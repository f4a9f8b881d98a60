#!/usr/bin/env python
"""Time per full-batch Adam epoch beside the matrix-product floor and two peers, measured in the same run.

* **ours**: one epoch of :mod:`amref.optim` Adam, i.e. the driver's timed ``step`` (forward-backward on
  all N samples by :mod:`amref.backprop`, then the Adam update); median of ``--iters`` epochs after a
  warm-up.
* **floor**: the time of exactly the matrix products one epoch performs
  (:func:`floor.backprop_products`: same shapes, layouts, dtype and backend).
  The matrix-product rate (GFLOP/s) is the epoch's product FLOPs divided by the floor.
* **peers** (when installed): scikit-learn's ``MLPClassifier(solver="adam", batch_size=N, alpha=0)``
  (one ``partial_fit`` = one epoch) and the same network in PyTorch on the CPU
  (``nn.Sequential`` of ``Linear``/``ReLU``, ``CrossEntropyLoss``, ``torch.optim.Adam``, one
  ``zero_grad/forward/backward/step`` per epoch). All use the same dtype, thread count and data
  (samples × features for the peers).

Every contender is warmed up once, then timed ``--iters`` rounds **round robin** (amref, floor,
scikit-learn, PyTorch, amref, …) so that all see the same load on a shared machine; medians are
reported.

Target (issue 3): 784-1000-1000-10, 10,000 samples: ours within 1.5× of the floor and no slower per
epoch than either peer.

    python benchmarks/baselines_floor.py                        # float32, MNIST if AMREF_DATA_DIR is set
    python benchmarks/baselines_floor.py --dtype float64 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

from floor import add_problem_arguments, backprop_products, load_data, product_timer, round_robin
from floor import flops as count_flops
from floor import paired as paired_ratio

from amref import backprop, get_solver
from amref.backend import get_namespace, synchronize, to_host
from amref.optim import options_class
from amref.problem import MLP


def ours(problem, data, dtype, xp):
    """A callable running one amref Adam epoch (the driver's timed ``step``) and returning its seconds."""
    spec = get_solver("adam")
    options = options_class("adam")()
    box = [spec.init_state(problem, data, problem.init_params(0, xp=xp, dtype=dtype), options)]

    def run():
        t0 = time.perf_counter()
        box[0] = spec.step(box[0], data, options)
        synchronize(xp)
        return time.perf_counter() - t0

    return run


def sklearn_epoch(x, labels, hidden):
    """A callable running one ``partial_fit`` epoch of scikit-learn's MLPClassifier (adam, full batch), or None."""
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    n = x.shape[0]
    model = MLPClassifier(hidden_layer_sizes=hidden, solver="adam", batch_size=n, alpha=0.0,
                          learning_rate_init=1e-3, shuffle=False, random_state=0)
    classes = np.arange(10)

    def run():
        t0 = time.perf_counter()
        model.partial_fit(x, labels, classes=classes)
        return time.perf_counter() - t0

    return run


def torch_epoch(x, labels, widths, dtype, threads):
    """A callable running one full-batch Adam epoch of the same network in PyTorch on the CPU, or None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    tdtype = torch.float32 if dtype == "float32" else torch.float64
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b, dtype=tdtype))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    X = torch.from_numpy(np.ascontiguousarray(x))
    Y = torch.from_numpy(labels.astype(np.int64))

    def run():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(X), Y)
        loss.backward()
        opt.step()
        return time.perf_counter() - t0

    return run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_problem_arguments(p, iters=5)
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="BLAS / torch threads for every contender")
    p.add_argument("--no-peers", action="store_true", help="skip scikit-learn and PyTorch")
    args = p.parse_args(argv)

    from threadpoolctl import threadpool_limits

    xp = get_namespace(args.backend)
    widths = (784, args.width, args.width, 10)
    with threadpool_limits(limits=args.threads):
        data = load_data(args, xp)
        contenders = {"amref": ours(MLP(widths), data, args.dtype, xp),
                      "floor": product_timer(backprop_products(widths, data.n_train), args.dtype, xp)}
        if not args.no_peers:
            x_host = np.ascontiguousarray(to_host(data.x_train).T)  # samples × features
            labels = np.argmax(to_host(data.y_train), axis=0)
            contenders["scikit-learn"] = sklearn_epoch(x_host, labels, (args.width, args.width))
            contenders["pytorch"] = torch_epoch(x_host, labels, widths, args.dtype, args.threads)
        missing = [name for name, f in contenders.items() if f is None]
        runs = round_robin({name: f for name, f in contenders.items() if f is not None}, args.iters)

    flops = count_flops(backprop_products(widths, data.n_train))
    med = {name: statistics.median(t) for name, t in runs.items()}
    floor, mine = med["floor"], med["amref"]
    # paired: the median over rounds of amref's time over the other's in the same round
    paired = {name: paired_ratio(runs, "amref", name) for name in runs}
    figures = {
        "problem": f"{'-'.join(map(str, widths))}, N={data.n_train}, {args.dtype}, {args.backend}, "
                   f"data={args.data}, threads={args.threads}",
        "matrix_product_gflop": flops / 1e9,
        "matrix_product_rate_gflops": flops / floor / 1e9,
        "floor_seconds": floor,
        "epoch_seconds_median": mine,
        "ratio_to_floor": mine / floor,
        "ratio_to_floor_paired": paired["floor"],
        "runs": runs,
        "peers": {name: {"epoch_seconds_median": med[name], "ours_over_peer": mine / med[name],
                         "ours_over_peer_paired": paired[name]}
                  for name in runs if name not in ("amref", "floor")},
        "peers_not_installed": missing,
        "cpu_count": os.cpu_count(),
        "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }

    def line(label, name):
        return f"  {label:30s}: {med[name]:9.3f} s   (runs: {', '.join(f'{t:.3f}' for t in runs[name])})"

    print(f"Adam full-batch epoch: {figures['problem']}")
    print(f"  matrix products per epoch     : {flops / 1e9:9.1f} GFLOP")
    print(f"  matrix-product rate (measured): {figures['matrix_product_rate_gflops']:9.1f} GFLOP/s")
    print(line("floor (products only)", "floor"))
    print(line("amref Adam epoch", "amref"))
    print(f"  {'ratio epoch / floor':30s}: {mine / floor:9.2f}   "
          f"(paired per round: {paired['floor']:.2f}; target ≤ 1.5)")
    for name in figures["peers"]:
        print(line(f"{name} epoch", name) + f"; amref / {name} = {mine / med[name]:.2f} "
              f"(paired {paired[name]:.2f}; target ≤ 1)")
    for name in missing:
        print(f"  {name:30s}: not installed")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    return figures


if __name__ == "__main__":
    main()
