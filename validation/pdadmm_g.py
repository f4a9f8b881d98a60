#!/usr/bin/env python
"""pdADMM-G / pdADMM-G-Q (Wang et al., TNNLS 2022): Tables III–IV (protocol ``pdadmm-g-tables``) and the
bytes the boundary arrays need.

The table runs are the protocol's (``amref reproduce pdadmm-g-tables [--quick]``; the released code's
greedy stages, per-stage ρ₀ and weight decay, features and seeds are in
``amref/protocols/pdadmm-g-tables.toml``). What is not a protocol run stays here: the bytes per iteration
of the boundary arrays on Cora in float64, float32 and as codes of the paper's Δ.

Usage::

    AMREF_DATA_DIR=../shared/data python validation/pdadmm_g.py --quick
"""

from __future__ import annotations

import sys

from common import print_rows, protocol_parser, reproduce

import amref
from amref.protocols import build
from amref.quantize import PAPER_LEVELS, bytes_table


def main(argv=None) -> int:
    args = protocol_parser(__doc__).parse_args(argv)
    print_rows(reproduce("pdadmm-g-tables", args))
    run = amref.protocols.select(amref.protocols.load("pdadmm-g-tables"), dataset="cora")
    data = build.load_data(run, data_dir=args.data_dir, download=False)
    print(f"\nBoundary bytes per iteration on Cora (10 layers × 100, N = {data.n_train}; p on Δ = −1…20):")
    for row in bytes_table((data.n_features,) + (100,) * 9 + (data.n_classes,), data.n_train, PAPER_LEVELS, "p"):
        print(f"  {row['encoding']:<30} {row['bytes']:>12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
