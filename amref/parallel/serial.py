"""The serial runner: every layer in this process, one after the other — the reference.

pdADMM's :func:`amref.solvers.pdadmm.step` is already the serial map over the layers (the primal half of
every layer, then the dual half of every layer), so the serial runner hands the solver back unchanged.
Its ``bytes_sent`` column is what the paper's schedule sends per iteration (p, q and u of every layer
boundary, :func:`amref.quantize.boundary_bytes`); the dask runner measures what it actually sends.
"""

from __future__ import annotations

from ..contract import SolverSpec

__all__ = ["SerialRunner"]


class SerialRunner:
    """Runs a solver in this process (the default runner)."""

    name = "serial"

    def solver(self, spec: SolverSpec) -> SolverSpec:
        """``spec`` itself: :func:`amref.driver.minimize` runs it as it is."""
        return spec

    def __repr__(self) -> str:
        return "SerialRunner()"
