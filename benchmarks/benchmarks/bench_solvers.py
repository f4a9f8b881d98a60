"""asv: one iteration (time and peak memory) of every registered AM solver; pdADMM's per-layer halves;
quantization against the p-step it belongs to; bytes per iteration (``track_``).

Sizes are MNIST-like (196 features, 10 classes) and small enough for ``asv run --quick`` on 2 cores.
"""

from __future__ import annotations

import numpy as np

import amref
from amref.backend import from_host
from amref.quantize import CODE_LEVELS, FLICKR_LEVELS, PAPER_LEVELS, boundary_bytes, decode, encode, project
from amref import am_solver_names, get_solver
from amref.solvers import pdadmm as pd

from .common import grid, mnist_like, namespace_or_skip, synchronize

GRIDS = {"paper": PAPER_LEVELS, "code": CODE_LEVELS, "flickr": FLICKR_LEVELS}
SAMPLES = 2000


class OneIteration:
    """``step`` of every registered AM solver on a 196-w-w-w-10 net, N = 2000 MNIST-shaped samples, with its
    paper's loss: ``time_step`` and ``peakmem_step`` (asv's peak resident memory of the process around one
    step; ``benchmarks/solver_floor.py`` reports tracemalloc's peak beside the state's size)."""

    params = (am_solver_names(), grid([100, 500]),
              grid(["float64", "float32"]),
              ["numpy", "cupy"])
    param_names = ["solver", "width", "dtype", "backend"]
    timeout = 300

    def setup(self, solver, width, dtype, backend):
        self.xp = namespace_or_skip(backend)
        self.spec = get_solver(solver)
        self.data = mnist_like(196, SAMPLES, 10, dtype, self.xp)
        problem = amref.MLP((196, width, width, width, 10), loss=self.spec.paper_loss)
        self.options = self.spec.options_class()
        params = problem.init_params(0, xp=self.xp, dtype=dtype)
        state = self.spec.init_state(problem, self.data, params, self.options)
        self.state = self.spec.step(state, self.data, self.options)  # warm-up: JIT, caches
        synchronize(self.xp)

    def time_step(self, *args):
        self.spec.step(self.state, self.data, self.options)
        synchronize(self.xp)

    def peakmem_step(self, *args):
        self.spec.step(self.state, self.data, self.options)


class PdADMMLayer:
    """pdADMM's per-layer halves (what one worker of the layer-parallel runner runs): hidden layer w × w."""

    params = (grid([100, 500]), [None, "p"], ["numpy", "cupy"])
    param_names = ["width", "quantize", "backend"]

    def setup(self, width, quantize, backend):
        self.xp = namespace_or_skip(backend)
        data = mnist_like(196, SAMPLES, 10, "float64", self.xp)
        problem = amref.MLP((196, width, width, width, 10))
        self.options = pd.PdADMMOptions(quantize=quantize)
        state = pd.init_state(problem, data, problem.init_params(0, xp=self.xp), self.options)
        self.state = pd.step(state, data, self.options)
        self.kw = dict(rho=self.state.rho, nu=self.state.nu, options=self.options)
        synchronize(self.xp)

    def time_layer_primal(self, *args):
        b = self.state.blocks
        pd.update_layer_primal(b[1], b[0].q, b[0].u, **self.kw)
        synchronize(self.xp)

    def time_layer_dual(self, *args):
        b = self.state.blocks
        pd.update_layer_dual(b[1], b[2].p, **self.kw)
        synchronize(self.xp)

    def time_layer_diagnostics(self, *args):
        b = self.state.blocks
        pd.layer_diagnostics(b[1], b[2].p, **self.kw)


class Quantization:
    """Projection onto Δ and the integer codes, against the plain and the quantized p-step of that layer."""

    params = (list(GRIDS), grid([500]), ["numpy", "cupy"])
    param_names = ["grid", "width", "backend"]

    def setup(self, grid_name, width, backend):
        self.xp = namespace_or_skip(backend)
        rng = np.random.default_rng(0)
        self.grid = GRIDS[grid_name]
        n = width

        def mv(a):
            return from_host(a, self.xp)

        self.x = mv(rng.normal(0.5, 2.0, size=(n, SAMPLES)))
        self.codes = encode(self.x, self.grid)
        self.W = mv(rng.normal(size=(n, n)) / np.sqrt(n))
        self.z, self.q = mv(rng.normal(size=(n, SAMPLES))), mv(rng.normal(size=(n, SAMPLES)))
        self.u = mv(np.zeros((n, SAMPLES)))
        self.m = self.W @ self.x
        self.p_on_grid = project(self.x, self.grid)
        self.m_on_grid = self.W @ self.p_on_grid
        self.plain = pd.PdADMMOptions(rho=1.0, nu=0.1)
        self.quant = pd.PdADMMOptions(rho=1.0, nu=0.1, quantize="p", levels=self.grid)
        synchronize(self.xp)

    def time_project(self, *args):
        project(self.x, self.grid)
        synchronize(self.xp)

    def time_encode(self, *args):
        encode(self.x, self.grid)
        synchronize(self.xp)

    def time_decode(self, *args):
        decode(self.codes, self.grid)
        synchronize(self.xp)

    def time_p_step(self, *args):
        pd.update_p(self.x, self.W, self.m, self.z, self.q, self.u, 1.0, 0.1, self.plain)
        synchronize(self.xp)

    def time_p_step_quantized(self, *args):
        pd.update_p(self.p_on_grid, self.W, self.m_on_grid, self.z, self.q, self.u, 1.0, 0.1, self.quant)
        synchronize(self.xp)


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
