"""asv benchmarks for issue 4: one iteration of mDLAM, pdADMM, pdADMM-G-Q; pdADMM's per-layer halves;
quantization against the p-step it belongs to; bytes per iteration (``track_``).

Sizes are MNIST-like (196 features, 10 classes) and small enough for ``asv run --quick`` on 2 cores.
"""

from __future__ import annotations

import numpy as np

import amref
from amref.backend import get_namespace
from amref.data import Dataset
from amref.problem import one_hot
from amref.quantize import CODE_LEVELS, FLICKR_LEVELS, PAPER_LEVELS, boundary_bytes, decode, encode, project
from amref.solvers import get_solver
from amref.solvers import pdadmm as pd

GRIDS = {"paper": PAPER_LEVELS, "code": CODE_LEVELS, "flickr": FLICKR_LEVELS}


def _data(n_features=196, n_classes=10, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n_features, n))
    y = one_hot(rng.integers(0, n_classes, n), n_classes)
    return Dataset("bench", x, y)


class OneIteration:
    """``step`` of each solver on a 196-w-w-w-10 net, N = 2000 (float64, NumPy)."""

    params = (["dladmm", "mdlam", "pdadmm", "pdadmm-g-q"], [100, 500])
    param_names = ["solver", "width"]
    timeout = 300

    def setup(self, solver, width):
        self.spec = get_solver(solver)
        self.data = _data()
        self.problem = amref.MLP((196, width, width, width, 10))
        self.options = self.spec.options_class()
        self.state = self.spec.init_state(self.problem, self.data, self.problem.init_params(0), self.options)
        self.state = self.spec.step(self.state, self.data, self.options)  # warm (JIT, caches)

    def time_step(self, solver, width):
        self.spec.step(self.state, self.data, self.options)

    def peakmem_step(self, solver, width):
        self.spec.step(self.state, self.data, self.options)


class PdADMMLayer:
    """pdADMM's per-layer functions (what a layer-parallel worker runs), hidden layer n × n, N = 2000."""

    params = ([100, 500], [None, "p"])
    param_names = ["width", "quantize"]

    def setup(self, width, quantize):
        self.data = _data()
        self.problem = amref.MLP((196, width, width, width, 10))
        self.options = pd.PdADMMOptions(quantize=quantize)
        state = pd.init_state(self.problem, self.data, self.problem.init_params(0), self.options)
        self.state = pd.step(state, self.data, self.options)
        self.kw = dict(rho=self.state.rho, nu=self.state.nu, options=self.options)

    def time_layer_primal(self, width, quantize):
        b = self.state.blocks
        pd.update_layer_primal(b[1], b[0].q, b[0].u, **self.kw)

    def time_layer_dual(self, width, quantize):
        b = self.state.blocks
        pd.update_layer_dual(b[1], b[2].p, **self.kw)

    def time_layer_diagnostics(self, width, quantize):
        b = self.state.blocks
        pd.layer_diagnostics(b[1], b[2].p, **self.kw)


class Quantization:
    """Projection onto Δ and the uint8/uint16 codes, against the plain p-step of the same layer."""

    params = (list(GRIDS), [500])
    param_names = ["grid", "width"]

    def setup(self, grid, width):
        rng = np.random.default_rng(0)
        self.grid = GRIDS[grid]
        self.x = rng.normal(0.5, 2.0, size=(width, 2000))
        self.codes = encode(self.x, self.grid)
        n = width
        self.W, self.m, self.z = rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=(n, 2000)), rng.normal(
            size=(n, 2000))
        self.q, self.u = rng.normal(size=(n, 2000)), np.zeros((n, 2000))
        self.plain = pd.PdADMMOptions(rho=1.0, nu=0.1)
        self.quant = pd.PdADMMOptions(rho=1.0, nu=0.1, quantize="p", levels=self.grid)

    def time_project(self, grid, width):
        project(self.x, self.grid)

    def time_encode(self, grid, width):
        encode(self.x, self.grid)

    def time_decode(self, grid, width):
        decode(self.codes, self.grid)

    def time_p_step(self, grid, width):
        pd.update_p(self.x, self.W, self.m, self.z, self.q, self.u, 1.0, 0.1, self.plain)

    def time_p_step_quantized(self, grid, width):
        pd.update_p(self.x, self.W, self.m, self.z, self.q, self.u, 1.0, 0.1, self.quant)


class BoundaryBytes:
    """Bytes the boundary arrays p, q, u need per iteration (10 layers × width, Cora's N = 140)."""

    params = (["float64", "float32", "float64+codes", "float32+codes"], [100, 500])
    param_names = ["encoding", "width"]
    unit = "bytes"

    def track_bytes_per_iteration(self, encoding, width):
        dtype, _, codes = encoding.partition("+")
        widths = (7165,) + (width,) * 9 + (7,)
        return boundary_bytes(widths, 140, dtype=dtype, quantize="p" if codes else None, grid=PAPER_LEVELS)["total"]

    track_bytes_per_iteration.unit = "bytes"


_ = get_namespace  # the suite runs on NumPy; CuPy timings need a device machine
