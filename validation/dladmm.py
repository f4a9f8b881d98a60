#!/usr/bin/env python
"""dlADMM (Wang et al., KDD 2019): Fig 2 vs Fig 3 convergence and Figs 4–5 accuracies (protocols
``dladmm-convergence`` and ``dladmm-accuracy``).

A thin wrapper: the settings live in ``amref/protocols/dladmm-*.toml``; this runs both protocols into
``validation/out/`` (the same as ``amref reproduce dladmm-convergence [--quick]`` and
``amref reproduce dladmm-accuracy [--quick]``).

Usage::

    AMREF_DATA_DIR=../shared/data python validation/dladmm.py --quick
"""

from __future__ import annotations

import sys

from common import print_rows, protocol_parser, reproduce

PROTOCOLS = ['dladmm-convergence', 'dladmm-accuracy']


def main(argv=None) -> int:
    args = protocol_parser(__doc__).parse_args(argv)
    for name in PROTOCOLS:
        print_rows(reproduce(name, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
