"""The host-sync counter of :mod:`host_syncs`, and every solver's syncs held to the documented scalar decisions.

Run from the repository root (seconds)::

    python -m pytest benchmarks/test_host_syncs.py
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from host_syncs import count_solver, counting  # noqa: E402

from amref import am_solver_names  # noqa: E402

xps = pytest.importorskip("array_api_strict")

# Where each solver may turn a device array into a Python scalar inside one iteration: the backtracking
# tests of the linearized steps, the inner z_L solver's stopping test and mDLAM's monotone safeguard.
# docs/guides/benchmarks.md ("Host synchronisations") says what each one decides.
ALLOWED = {
    "solvers.subproblems:linearized_weight_step", "solvers.subproblems:linearized_input_step",
    "solvers.subproblems:solve_zl", "solvers.mdlam:_sq_dist", "solvers.mdlam:trial",
    "solvers.mdlam:projected_step", "solvers.mdlam:update_z_last", "solvers.mdlam:value",
    "solvers.pdadmm:_quantized_p_step",
}


def test_counter_counts_each_conversion_once():
    x = xps.asarray([[1.0, 2.0], [3.0, 4.0]])
    with counting(type(x)) as counts:
        float(xps.sum(x))
        bool(xps.all(x > 0))
        y = x * 2.0  # stays on the device
    assert sum(counts.values()) == 2
    assert {method for method, _ in counts} == {"__float__", "__bool__"}
    assert float(y[0, 0]) == 2.0  # the methods are restored after the block
    with counting(type(x)) as again:
        pass
    assert not again


@pytest.mark.parametrize("solver", am_solver_names())
def test_syncs_only_at_scalar_decisions(solver):
    counts = count_solver(solver, width=6)
    places = {where for _, where in counts}
    assert places <= ALLOWED, f"{solver}: host syncs in {sorted(places - ALLOWED)}"
