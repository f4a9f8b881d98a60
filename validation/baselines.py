#!/usr/bin/env python
"""Gradient baselines of dlADMM (Wang et al., KDD 2019), Figs 4–5: the ordering of GD, Adagrad, Adadelta and
Adam (protocol ``dladmm-baselines``).

The runs are the protocol's (``amref reproduce dladmm-baselines [--quick]``; network, learning rates, the
quick size's GD rate scaling are in ``amref/protocols/dladmm-baselines.toml``). What is not a protocol run
stays here: the **ordering** check. The paper's numbers are figure readings (±0.01), so two methods within
0.01 of each other count as tied, and the check is that every pair the paper orders by more than 0.01
comes out in the same order.

Usage::

    AMREF_DATA_DIR=../shared/data python validation/baselines.py --quick
"""

from __future__ import annotations

import itertools
import sys

from common import print_rows, protocol_parser, reproduce

TIE = 0.01


def ordering_agrees(paper: dict, ours: dict) -> tuple[bool, list[str]]:
    """Every pair the paper separates by more than ``TIE`` must come out in the same order in ours."""
    disagreements = []
    for a, b in itertools.combinations(paper, 2):
        if abs(paper[a] - paper[b]) <= TIE:
            continue
        hi, lo = (a, b) if paper[a] > paper[b] else (b, a)
        if not ours[hi] > ours[lo]:
            disagreements.append(f"{hi} > {lo}")
    return not disagreements, disagreements


def main(argv=None) -> int:
    args = protocol_parser(__doc__).parse_args(argv)
    results = reproduce("dladmm-baselines", args)
    print_rows(results)
    print(f"\nOrdering (pairs the paper separates by more than {TIE} must keep their order):")
    ok_all = True
    for dataset in dict.fromkeys(r["dataset"] for r in results["rows"]):
        for metric in ("train_accuracy", "test_accuracy"):
            rows = [r for r in results["rows"] if r["dataset"] == dataset and r["metric"] == metric]
            paper = {r["variant"]: r["paper"] for r in rows if r["paper"] is not None}
            ours = {r["variant"]: r["ours"] for r in rows}
            ok, bad = ordering_agrees(paper, ours)
            ok_all &= ok
            print(f"  {dataset:<14} {metric:<15} paper {' > '.join(sorted(paper, key=paper.get, reverse=True))}; "
                  f"ours {' > '.join(sorted(ours, key=ours.get, reverse=True))}: "
                  + ("reproduced" if ok else "not reproduced: " + ", ".join(bad)))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
