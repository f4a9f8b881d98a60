#!/usr/bin/env python
"""The AM family on MNIST: Taylor et al. ADMM in the dlADMM paper's Fig 4 and Zeng et al. BCD against its
reference run (protocols ``taylor-admm-fig4`` and ``bcd-reference``).

A thin wrapper around ``amref reproduce taylor-admm-fig4`` and ``amref reproduce bcd-reference``; the
settings live in the protocol files.

Usage::

    AMREF_DATA_DIR=../shared/data python validation/am_family.py --quick
"""

from __future__ import annotations

import sys

from common import print_rows, protocol_parser, reproduce

PROTOCOLS = ['taylor-admm-fig4', 'bcd-reference']


def main(argv=None) -> int:
    args = protocol_parser(__doc__).parse_args(argv)
    for name in PROTOCOLS:
        print_rows(reproduce(name, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
