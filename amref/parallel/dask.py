r"""Layer-parallel pdADMM on dask.distributed: each layer's block lives on one worker.

:class:`DaskRunner` turns the pdADMM solvers (``pdadmm``, ``pdadmm-g``, ``pdadmm-g-q``) into a
:class:`~amref.contract.SolverSpec` whose state is a set of futures pinned to workers. One iteration is the
serial :func:`amref.solvers.pdadmm.step` with placement and transport added — the same layer functions,
in the same order::

    on worker(l), all layers at once:
        block_l ← update_layer_primal(block_l, inbox_l.q, inbox_l.u)     p, W, b, z   (x: layer 1, y: layer L)
        send p_l                  ──────────────►  worker(l−1)            codes when p ∈ Δ
    on worker(l), when p_{l+1} has arrived:
        block_l ← update_layer_dual(block_l, decode(p_{l+1}))            q, u
        send q_l                  ──────────────►  worker(l+1)            codes when q ∈ Δ
    on worker(l+1), when q_l has arrived:
        inbox_{l+1} ← (decode(q_l), update_u(u_l, p_{l+1}, q_l))          the dual, recomputed there
        report_l ← layer_diagnostics(block_l, p_{l+1}) + bytes sent      a few scalars

The messages are futures produced on the sender's worker, so dask moves them worker to worker when the
receiver's task needs them; the client only submits tasks and gathers the reports (scalars) and, for the
driver's accuracy columns, the weights W_l, b_l.

The dual u_l is not sent: layer l + 1 already holds p_{l+1} and receives q_l, so it applies the same
dual step :func:`~amref.solvers.pdadmm.update_u` to its copy of u_l and gets the bit-identical array
(``send_duals=True`` sends u_l as the paper's parallel code does, for comparison). This saves a third
of the traffic, and with quantized p and q only codes cross the network.

``bytes_sent`` in the history is the sum of :attr:`Message.nbytes` of every message of the iteration
(what the layers send to their neighbours, the paper's Fig 5 count); ``bytes_between_workers`` counts
only those whose sender and receiver are different workers (what crossed the network with this
placement: layers on one worker hand their messages over in memory).

Placement (:func:`place_layers`): consecutive layers on the same worker, balanced by a cost model of
the layer updates, several layers per worker when there are more layers than workers.

Checkpoints hold the ordinary :class:`~amref.solvers.pdadmm.PdADMMState` (``export_state`` gathers
the blocks), so a run checkpointed on dask resumes serially and the other way round. ``Result.state`` of a
dask run is its :class:`DaskState` (futures, valid while the client is open; ``runner.export_state(...)``
gathers it); ``Result.params`` are host arrays. A worker that
dies raises :class:`WorkerLostError` (a :class:`~amref.contract.StateLost`); :func:`amref.driver.minimize`
then restores the last checkpoint onto the workers that are left (after waiting up to
``rejoin_timeout`` seconds for replacements) and continues.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import logging
import signal
import threading
import time
from typing import Any, Iterator, Sequence

import dask
import distributed
from dask.sizeof import sizeof
from distributed import Client, Future, LocalCluster

from .. import kernels
from ..backend import Array
from ..contract import SolverSpec, StateLost
from ..problem import MLP, join_params
from . import supports_layer_parallel
from .messages import Message, decode, encode, message_sizeof

__all__ = [
    "NO_MALLOC_TRIM",
    "DaskRunner",
    "DaskState",
    "Inbox",
    "layer_costs",
    "local_cluster",
    "place_layers",
    "WorkerLostError",
]

sizeof.register(Message)(message_sizeof)


class WorkerLostError(StateLost):
    """A dask worker holding layers of the run died, or the data it held is gone."""


# ----------------------------------------------------------------------------- clusters
NO_MALLOC_TRIM = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
"""dask config that keeps worker processes from setting ``MALLOC_TRIM_THRESHOLD_``. Dask sets it to return
memory to the OS sooner, but any such setting also freezes glibc's mmap threshold at 128 KiB, so every
large NumPy temporary of a layer update is a fresh ``mmap`` whose pages fault in again: the layer updates
of ``benchmarks/parallel_speedup.py`` (8 × 1000, N = 2000) ran 1.9× slower in such a worker than in the
client. Put ``MALLOC_TRIM_THRESHOLD_: null`` under ``distributed.nanny.pre-spawn-environ`` in the dask
config of a cluster's workers, or use :func:`local_cluster`."""


def local_cluster(n_workers: int | None = None, *, processes: bool = True, **kwargs: Any) -> LocalCluster:
    """A ``LocalCluster`` for layer-parallel runs: single-threaded workers (BLAS one thread each), no
    per-worker memory limit (dask would spill a layer's block to disk or restart its worker, where the
    serial runner simply uses the memory), the dashboard on a free loopback port, quiet logs, and no
    ``MALLOC_TRIM_THRESHOLD_`` (see :data:`NO_MALLOC_TRIM`). ``kwargs`` go to ``LocalCluster``."""
    options = dict(threads_per_worker=1, memory_limit=0, dashboard_address="127.0.0.1:0",
                   silence_logs=logging.ERROR)
    options.update(kwargs)
    with dask.config.set(NO_MALLOC_TRIM), _workers_ignore_sigint(processes):
        return LocalCluster(n_workers=n_workers, processes=processes, **options)


@contextlib.contextmanager
def _workers_ignore_sigint(processes: bool) -> Iterator[None]:
    """Start worker processes with SIGINT ignored (inherited through fork and exec), so a Ctrl-C to the
    terminal's process group stops the client, which then saves the state the workers still hold,
    instead of killing the workers first. The cluster is closed by the client as usual."""
    if not processes or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# ----------------------------------------------------------------------------- placement
def layer_costs(widths: Sequence[int]) -> list[float]:
    """Relative cost of one iteration of each layer (per sample): 4 products of n_l × n_{l−1} (p-step
    and W-step; 2 for layer 1, which has no p-step) and about 200 elementwise passes over n_l."""
    costs = []
    for l in range(1, len(widths)):
        n_in, n_out = widths[l - 1], widths[l]
        costs.append((2.0 if l == 1 else 4.0) * n_out * n_in + 200.0 * n_out)
    return costs


def place_layers(costs: Sequence[float], n_workers: int) -> list[int]:
    """Worker index of each layer: consecutive layers together, about equal cost per worker.

    Layer l goes to ``floor(n_workers · (c_1 + … + c_{l−1} + c_l/2) / Σc)``, the worker whose share of
    the total cost contains the layer's midpoint. The indices never decrease; layers of equal cost
    spread evenly, one worker each when there are fewer layers than workers.
    """
    if n_workers < 1:
        raise ValueError(f"need at least one worker, got {n_workers}")
    if not costs or any(not c > 0 for c in costs):
        raise ValueError("layer costs must be positive")
    total, before, out = float(sum(costs)), 0.0, []
    for c in costs:
        out.append(min(n_workers - 1, int(n_workers * (before + c / 2) / total)))
        before += c
    return out


# ----------------------------------------------------------------------------- worker-side tasks
@dataclasses.dataclass(frozen=True)
class Inbox:
    """What layer l holds of its left neighbour: q_{l−1} (decoded) and its copy of u_{l−1}."""

    q: Array
    u: Array


def _primal(layers, block, inbox, x, y, *, rho, nu, options):
    q_prev, u_prev = (None, None) if inbox is None else (inbox.q, inbox.u)
    return layers.update_layer_primal(block, q_prev, u_prev, rho=rho, nu=nu, options=options, x=x, y=y)


def _send_p(block, options) -> Message:
    return encode(block.p, options.levels if options.quantize_p else None)


def _dual(layers, block, p_next, *, rho, nu, options):
    return layers.update_layer_dual(block, decode(p_next), rho=rho, nu=nu, options=options)


def _send_q(block, options, send_duals) -> tuple[Message, Message | None]:
    q = encode(block.q, options.levels if options.quantize_q else None)
    return q, (encode(block.u) if send_duals else None)


def _receive(layers, sent, inbox, block, *, rho) -> Inbox:
    q_msg, u_msg = sent
    q = decode(q_msg)
    u = decode(u_msg) if u_msg is not None else layers.update_u(inbox.u, block.p, q, rho)
    return Inbox(q, u)


def _report(layers, block, p_next, p_sent, q_sent, y, *, rho, nu, options) -> dict:
    """Layer l's diagnostics (:func:`~amref.solvers.pdadmm.layer_diagnostics`) and the bytes it sent."""
    out = layers.layer_diagnostics(block, decode(p_next), rho=rho, nu=nu, options=options, y=y)
    out["zl_iterations"] = block.zl_iterations
    out["bytes_p"] = float(p_sent.nbytes) if p_sent is not None else 0.0
    out["bytes_q"] = float(q_sent[0].nbytes) if q_sent is not None else 0.0
    out["bytes_u"] = float(q_sent[1].nbytes) if q_sent is not None and q_sent[1] is not None else 0.0
    return out


def _weights(block):
    return block.W, block.b


# ----------------------------------------------------------------------------- the runner
@dataclasses.dataclass(frozen=True)
class DaskState:
    """pdADMM's state spread over dask workers (futures); scalars stay here.

    ``blocks[l-1]`` (a :class:`~amref.solvers.pdadmm.LayerBlock`), ``inboxes[l-1]`` (an :class:`Inbox`,
    None for layer 1) and ``reports[l-1]`` (the last iteration's scalars) live on ``workers[l-1]``; ``x``
    on layer 1's worker, ``y`` on layer L's. ``layers`` are the solver's per-layer functions (its
    spec's ``layer_functions``, e.g. :data:`amref.solvers.pdadmm.LAYER_FUNCTIONS`). ``rho``, ``nu``,
    ``iteration``, ``costs`` are those of :class:`~amref.solvers.pdadmm.PdADMMState` (so
    :func:`~amref.solvers.pdadmm.end_iteration` applies).
    """

    blocks: tuple
    inboxes: tuple
    reports: tuple
    x: Any
    y: Any
    workers: tuple
    layers: Any
    rho: float
    nu: float
    iteration: int = 0
    costs: tuple = ()


class DaskRunner:
    """Runs pdADMM layer-parallel on the workers of a ``distributed.Client``.

    Parameters
    ----------
    client
        A connected client (``Client(LocalCluster(...))`` or ``Client("tcp://host:8786")``).
    send_duals
        Send u_l forward as the paper's code does, instead of recomputing it on the receiver.
    placement
        Worker index (into the sorted worker addresses) of every layer; default :func:`place_layers`.
    timeout
        Seconds one iteration may take before the run stops with ``TimeoutError``.
    rejoin_timeout
        After a worker loss, seconds to wait for the cluster to get back to its size before the
        layers are placed on the workers that are left.
    poll
        Seconds between checks for lost workers while an iteration runs.

    Examples
    --------
    >>> from distributed import Client, LocalCluster                      # doctest: +SKIP
    >>> with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:  # doctest: +SKIP
    ...     solver = DaskRunner(client).solver(amref.get_solver("pdadmm"))
    ...     result = amref.minimize(solver, problem, data, options, max_iter=50)
    """

    name = "dask"

    def __init__(self, client: Client, *, send_duals: bool = False, placement: Sequence[int] | None = None,
                 timeout: float = 3600.0, rejoin_timeout: float = 10.0, poll: float = 0.2):
        if not isinstance(client, Client):
            raise TypeError(f"DaskRunner needs a distributed.Client, got {type(client).__name__}")
        for label, value in (("timeout", timeout), ("poll", poll)):
            if not value > 0:
                raise ValueError(f"{label} must be positive, got {value}")
        if not rejoin_timeout >= 0:
            raise ValueError(f"rejoin_timeout must be >= 0, got {rejoin_timeout}")
        self.client = client
        self.send_duals = bool(send_duals)
        self.placement = None if placement is None else [int(i) for i in placement]
        self.timeout, self.rejoin_timeout, self.poll = float(timeout), float(rejoin_timeout), float(poll)
        self._cluster_size: int | None = None  # number of workers at the first placement

    def __repr__(self) -> str:
        return f"DaskRunner({self.client.scheduler.address!r}, send_duals={self.send_duals})"

    def solver(self, spec: SolverSpec) -> SolverSpec:
        """``spec`` (a layer-parallel solver: one with ``layer_functions``) with its state on the workers;
        same name, options and math."""
        if not supports_layer_parallel(spec):
            raise ValueError(f"the dask runner runs the layer-parallel solvers (pdadmm, pdadmm-g, pdadmm-g-q), "
                             f"not {spec.name!r}")
        layers = spec.layer_functions
        return dataclasses.replace(
            spec, init_state=functools.partial(self.init_state, layers=layers), step=self.step,
            diagnostics=self.diagnostics, params=self.params, export_state=self.export_state,
            import_state=functools.partial(self.import_state, layers=layers),
        )

    # ---------------------------------------------------------------- placing and gathering the state
    def workers(self) -> list[str]:
        """Addresses of the cluster's workers now, sorted."""
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def init_state(self, problem: MLP, data, params, options, *, layers: Any) -> DaskState:
        """The serial initial state (``layers.init_state``, a forward pass here), placed on the workers."""
        return self.import_state(layers.init_state(problem, data, params, options), problem, data, options,
                                 layers=layers)

    def import_state(self, state: Any, problem: MLP, data, options, *, layers: Any) -> DaskState:
        """Scatter the serial state (a :class:`~amref.solvers.pdadmm.PdADMMState`, from ``init_state`` or a
        checkpoint); ``layers`` are the solver's per-layer functions (its spec's ``layer_functions``)."""
        addresses = self._available_workers()
        L = len(state.blocks)
        if self.placement is not None:
            if len(self.placement) != L or not all(0 <= i < len(addresses) for i in self.placement):
                raise ValueError(f"placement {self.placement} does not fit {L} layers on {len(addresses)} workers")
            where = [addresses[i] for i in self.placement]
        else:
            where = [addresses[i] for i in place_layers(layer_costs(problem.widths), len(addresses))]

        def put(value, l):
            return self.client.scatter(value, workers=[where[l]], hash=False)

        blocks = tuple(put(b, l) for l, b in enumerate(state.blocks))
        inboxes = (None,) + tuple(put(Inbox(state.blocks[l - 1].q, state.blocks[l - 1].u), l) for l in range(1, L))
        return DaskState(blocks=blocks, inboxes=inboxes, reports=(None,) * L, x=put(data.x_train, 0),
                         y=put(data.y_train, L - 1), workers=tuple(where), layers=layers, rho=state.rho, nu=state.nu,
                         iteration=state.iteration, costs=state.costs)

    def export_state(self, state: DaskState) -> Any:
        """The blocks gathered here, as the serial solver's state (``layers.state_class``, what checkpoints
        hold)."""
        blocks = self._gather(state, list(state.blocks))
        return state.layers.state_class(blocks=tuple(blocks), rho=state.rho, nu=state.nu, iteration=state.iteration,
                                  costs=state.costs)

    def _available_workers(self) -> list[str]:
        """The workers to place on; after a loss (fewer than at the first placement) wait up to
        ``rejoin_timeout`` for replacements (a nanny, an adaptive cluster), then take what is there."""
        addresses = self.workers()
        expected = self._cluster_size or 1
        if len(addresses) < expected and self.rejoin_timeout > 0:
            try:
                self.client.wait_for_workers(expected, timeout=self.rejoin_timeout)
            except TimeoutError:
                pass
            addresses = self.workers()
        if not addresses:
            raise WorkerLostError("the dask cluster has no workers")
        if self._cluster_size is None:
            self._cluster_size = len(addresses)
        return addresses

    # ---------------------------------------------------------------- one iteration
    def _submit(self, state: DaskState, layer: int, fn, *args, priority: int = 0, **kwargs) -> Future:
        return self.client.submit(kernels.with_jit, kernels.jit_setting(), fn, *args,  # the caller's use_jit
                                  workers=[state.workers[layer]], allow_other_workers=False, pure=False,
                                  priority=priority, **kwargs)

    def step(self, state: DaskState, data, options) -> DaskState:
        """One iteration of Algorithm 1 on the workers (see the module docstring); waits for it to finish."""
        L = len(state.blocks)
        kw = dict(rho=state.rho, nu=state.nu, options=options)
        fns = state.layers

        def on(l, fn, *args, **more):
            return self._submit(state, l, fn, *args, **more)

        def message(l, fn, *args, **more):  # sending and receiving go first: neighbours wait for them
            return self._submit(state, l, fn, *args, priority=1, **more)

        primal = [on(l, _primal, fns, state.blocks[l], state.inboxes[l], state.x if l == 0 else None,
                     state.y if l == L - 1 else None, **kw) for l in range(L)]
        p_sent = [None] + [message(l, _send_p, primal[l], options) for l in range(1, L)]  # p_l → layer l−1
        blocks = [on(l, _dual, fns, primal[l], p_sent[l + 1], **kw) for l in range(L - 1)] + [primal[L - 1]]
        q_sent = [message(l, _send_q, blocks[l], options, self.send_duals) for l in range(L - 1)] + [None]
        inboxes = [None] + [message(l, _receive, fns, q_sent[l - 1], state.inboxes[l], primal[l], rho=state.rho)
                            for l in range(1, L)]  # q_{l−1} (, u_{l−1}) from layer l−1
        reports = [on(l, _report, fns, blocks[l], p_sent[l + 1] if l < L - 1 else None, p_sent[l], q_sent[l],
                      state.y if l == L - 1 else None, **kw) for l in range(L)]
        self._wait(state, blocks + inboxes[1:], f"iteration {state.iteration + 1}")
        return dataclasses.replace(state, blocks=tuple(blocks), inboxes=tuple(inboxes), reports=tuple(reports),
                                   iteration=state.iteration + 1)

    def diagnostics(self, state: DaskState, data, options) -> dict:
        """The serial solver's diagnostics, summed from the layers' reports, with measured bytes."""
        parts = self._gather(state, list(state.reports))
        total = state.layers.sum_layer_diagnostics(parts)
        w = state.workers
        between = 0.0
        for l, part in enumerate(parts):
            if l > 0 and w[l] != w[l - 1]:
                between += part["bytes_p"]
            if l < len(parts) - 1 and w[l] != w[l + 1]:
                between += part["bytes_q"] + part["bytes_u"]
        sent = total["bytes_p"] + total["bytes_q"] + total["bytes_u"]
        row = state.layers.diagnostics_row(total, rho=state.rho, nu=state.nu, zl_iterations=parts[-1]["zl_iterations"],
                                     bytes_sent=sent)
        row["bytes_between_workers"] = between
        return row

    def params(self, state: DaskState):
        """``[W_1, b_1, …]`` gathered here (the driver evaluates accuracy with them)."""
        pairs = self._gather(state, [self._submit(state, l, _weights, b, priority=1)
                                     for l, b in enumerate(state.blocks)])
        return join_params([W for W, _ in pairs], [b for _, b in pairs])

    # ---------------------------------------------------------------- waiting, and noticing lost workers
    def _gather(self, state: DaskState, futures: list) -> list:
        self._wait(state, futures, "gathering")
        try:
            return self.client.gather(futures)
        except concurrent.futures.CancelledError as exc:
            raise WorkerLostError(self._lost(state, "gathering", "results held by a lost worker are gone")) from exc

    def _wait(self, state: DaskState, futures: list, what: str) -> None:
        """Wait for ``futures``; raise :class:`WorkerLostError` as soon as a worker holding layers is gone,
        the task's own exception if one failed, ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + self.timeout
        pending = [f for f in futures if f is not None]
        while pending:
            try:  # waits for the first one without fetching its data
                pending[0].exception(timeout=self.poll)
            except (TimeoutError, concurrent.futures.CancelledError):
                pass
            for f in pending:
                if f.status == "error" and not isinstance(f.exception(), distributed.KilledWorker):
                    f.result()  # re-raises the task's own exception with its traceback
                if f.status in ("error", "cancelled", "lost"):  # a worker died under it
                    raise WorkerLostError(self._lost(state, what, "results held by a lost worker are gone"))
            pending = [f for f in pending if f.status != "finished"]
            if pending:
                if self._gone(state):
                    raise WorkerLostError(self._lost(state, what))
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{what} took longer than timeout={self.timeout} s")

    def _gone(self, state: DaskState) -> set[str]:
        """The run's workers the scheduler no longer lists, asked twice ``poll`` seconds apart: the
        client's view of the cluster can lag behind it for a moment on a loaded machine, and a worker
        that is really gone stays gone."""
        gone = set(state.workers) - set(self.workers())
        if gone:
            time.sleep(self.poll)
            gone &= set(state.workers) - set(self.workers())
        return gone

    def _lost(self, state: DaskState, what: str, fallback: str = "a worker is gone") -> str:
        """``"iteration 4: dask worker tcp://… holding layers 3–5 is gone"``."""
        gone = sorted(set(state.workers) - set(self.workers()))
        if not gone:
            return f"{what}: {fallback}"
        layers = [l + 1 for l, a in enumerate(state.workers) if a in gone]
        return f"{what}: dask worker {', '.join(gone)} holding layers {_ranges(layers)} is gone"


def _ranges(layers: list[int]) -> str:
    """``[1, 2, 3, 5]`` → ``"1–3, 5"``."""
    out, start = [], None
    for i, l in enumerate(layers):
        if start is None:
            start = l
        if i == len(layers) - 1 or layers[i + 1] != l + 1:
            out.append(f"{start}" if start == l else f"{start}–{l}")
            start = None
    return ", ".join(out)
