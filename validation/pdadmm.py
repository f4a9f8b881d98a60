#!/usr/bin/env python
"""pdADMM (ICDM 2020) Fig 4: monotone objective and vanishing residual on 14×14 MNIST (protocol
``pdadmm-convergence``).

A thin wrapper around ``amref reproduce pdadmm-convergence``; the settings live in the protocol file.

Usage::

    AMREF_DATA_DIR=../shared/data python validation/pdadmm.py --quick
"""

from __future__ import annotations

import sys

from common import print_rows, protocol_parser, reproduce

PROTOCOLS = ['pdadmm-convergence']


def main(argv=None) -> int:
    args = protocol_parser(__doc__).parse_args(argv)
    for name in PROTOCOLS:
        print_rows(reproduce(name, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
