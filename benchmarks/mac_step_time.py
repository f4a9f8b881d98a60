#!/usr/bin/env python
"""Seconds of MAC's set-up (``init_state``: the first layer's Gram basis) and median seconds per
iteration (``step``) on a data set, for before/after comparisons of :mod:`amref.solvers.mac`.

Run it with ``PYTHONPATH`` pointing at each checkout in turn (A B A B …) so both see the same load::

    OMP_NUM_THREADS=1 AMREF_DATA_DIR=/path/to/data python benchmarks/mac_step_time.py --dataset cora
"""

from __future__ import annotations

import argparse
import statistics
import time

import amref
from amref.data import load_dataset
from amref.solvers import mac as M


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="cora")
    p.add_argument("--train-size", type=int, default=None)
    p.add_argument("--hidden", default="100,100")
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args(argv)
    kw = {} if args.train_size is None else dict(train_size=args.train_size, test_size=100)
    data = load_dataset(args.dataset, **kw)
    widths = (data.x_train.shape[0], *(int(w) for w in args.hidden.split(",")), data.y_train.shape[0])
    problem = amref.MLP(widths, loss="squared")
    opts = M.MACOptions()
    t = time.perf_counter()
    state = M.init_state(problem, data, problem.init_params(0), opts)
    init = time.perf_counter() - t
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        state = M.step(state, data, opts)
        times.append(time.perf_counter() - t)
    print(f"{args.dataset} widths {widths} N {data.x_train.shape[1]}: init {init:.3f} s, "
          f"step median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f})")


if __name__ == "__main__":
    main()
