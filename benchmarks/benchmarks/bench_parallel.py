"""asv: layer-parallel pdADMM — one iteration per runner, and the bytes one iteration sends per encoding.

The dask runs use an in-process cluster of two single-threaded workers, so ``time_iteration`` tracks the
runner's overhead (placement, task submission, transport) against the serial runner, not a speedup;
``benchmarks/parallel_speedup.py`` measures speedup and efficiency with worker processes.
"""

from __future__ import annotations

from amref.problem import MLP
from amref.quantize import CODE_LEVELS, Grid
from amref.solvers import pdadmm
from amref.solvers.pdadmm import PdADMMOptions
from amref.solvers.pdadmm_g import PdADMMGQOptions

from .common import grid, mnist_like, namespace_or_skip

ENCODINGS = {
    "float64": ("float64", PdADMMOptions()),
    "float32": ("float32", PdADMMOptions()),
    "codes-uint8": ("float32", PdADMMGQOptions(quantize="pq", levels=Grid.uniform(-1.0, 2.0, 256))),
    "codes-uint16": ("float32", PdADMMGQOptions(quantize="pq", levels=CODE_LEVELS)),
}


def _dask(n_workers: int):
    """(cluster, client) of in-process workers, or asv's skip when dask.distributed is missing."""
    try:
        from distributed import Client

        from amref.parallel.dask import local_cluster
    except ImportError as exc:
        raise NotImplementedError("dask.distributed is not installed") from exc
    cluster = local_cluster(n_workers, processes=False)
    return cluster, Client(cluster, set_as_default=False)


class ParallelIteration:
    """One pdADMM iteration of 784-w×7-10 (8 layers) on 2000 MNIST-shaped samples."""

    params = (["serial", "dask"], grid([256, 1000]))
    param_names = ["runner", "width"]
    timeout = 600

    def setup(self, runner, width):
        xp = namespace_or_skip("numpy")
        self.cluster = self.client = None
        self.data = mnist_like(784, 2000, 10, "float64", xp)
        problem = MLP((784,) + (width,) * 7 + (10,))
        self.options = PdADMMOptions()
        self.spec = pdadmm.SOLVER
        if runner == "dask":
            from amref.parallel.dask import DaskRunner

            self.cluster, self.client = _dask(2)
            self.spec = DaskRunner(self.client).solver(pdadmm.SOLVER)
        state = self.spec.init_state(problem, self.data, problem.init_params(0), self.options)
        self.state = self.spec.step(state, self.data, self.options)  # warm-up: Numba, first transfers

    def teardown(self, runner, width):
        if self.client is not None:
            self.client.close()
            self.cluster.close()

    def time_iteration(self, runner, width):
        self.spec.step(self.state, self.data, self.options)


class ParallelBytes:
    """Bytes one iteration of a 10-layer net (784-100×9-10, N = 140, Cora's training size) sends, as measured
    by the dask runner (p back, q forward; u recomputed by the receiver)."""

    params = [list(ENCODINGS)]
    param_names = ["encoding"]
    timeout = 300

    def setup(self, encoding):
        import amref
        from amref.parallel.dask import DaskRunner

        dtype, options = ENCODINGS[encoding]
        xp = namespace_or_skip("numpy")
        data = mnist_like(784, 140, 10, dtype, xp)
        cluster, client = _dask(2)
        try:
            name = "pdadmm" if options.quantize is None else "pdadmm-g-q"
            spec = DaskRunner(client).solver(amref.get_solver(name))
            result = amref.minimize(spec, MLP((784,) + (100,) * 9 + (10,)), data, options, max_iter=1)
            self.bytes = result.history["bytes_sent"][0]
        finally:
            client.close()
            cluster.close()

    def track_bytes_sent(self, encoding):
        return self.bytes

    track_bytes_sent.unit = "bytes per iteration"
