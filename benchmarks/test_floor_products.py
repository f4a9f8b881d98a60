"""The product lists of :mod:`floor` against the products each AM solver really performs.

One ``step`` of every registered AM solver runs on :class:`product_counter.Counted` arrays (every ``@``,
``solve`` and ``eigh`` recorded with its shape and layout); the records must equal
:func:`floor.solver_products` exactly. Run from the repository root (seconds)::

    python -m pytest benchmarks/test_floor_products.py
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from floor import solver_products  # noqa: E402
from product_counter import as_counter, count_step  # noqa: E402

from amref import am_solver_names  # noqa: E402

WIDTHS = (20, 12, 8, 5)  # every width distinct, so a shape names its layer
N = 30


@pytest.mark.parametrize("solver", am_solver_names())
def test_products_match_the_list(solver):
    # two warm-up steps: mDLAM extrapolates from its third iteration on, weights from solves are transposed
    counted, state = count_step(solver, WIDTHS, N, warmup=2)
    if getattr(state, "restarts", 0):
        pytest.skip("a safeguard restart happened: the list counts the steady state without one")
    import amref

    options = amref.get_solver(solver).options_class()
    assert counted == as_counter(solver_products(solver, WIDTHS, N, options))


def test_the_counter_sees_products_and_solves():
    import numpy as np

    from product_counter import Counted, counting_linalg

    A = np.ones((3, 4)).view(Counted)
    Counted.log.clear()
    import array_api_compat.numpy as xp

    with counting_linalg():
        (A @ A.T)
        xp.linalg.solve(xp.eye(3).view(Counted), A)
    assert Counted.log == [("matmul", (3, 4, 3), "NT"), ("solve", (3, 3, 4), "NN")]
    Counted.log.clear()


def test_mac_products_match_for_a_wide_input():
    """n_0 + 1 > N: layer 1's W-step works in the thin (n_0 + 1) × N basis."""
    counted, _ = count_step("mac", (40, 12, 8, 5), N, warmup=2)
    assert counted == as_counter(solver_products("mac", (40, 12, 8, 5), N))
