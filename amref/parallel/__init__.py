"""Runners: where a solver's layers are updated — all here, one after the other, or on a dask cluster.

A runner turns a :class:`~amref.contract.SolverSpec` into one that :func:`amref.driver.minimize` runs as
usual::

    runner.solver(spec) -> SolverSpec        # same name, options, math and checkpoints

=========================  ==================================================================================
runner                     what it does
=========================  ==================================================================================
:class:`SerialRunner`      the default and the reference: the solver unchanged, every layer in this process
:class:`DaskRunner`        pdADMM, pdADMM-G, pdADMM-G-Q layer-parallel on dask.distributed: each layer's block
                           stays on one worker, only the boundary arrays move worker to worker (as integer
                           codes when quantized), only scalars come back (:mod:`amref.parallel.dask`)
=========================  ==================================================================================

Both call the same per-layer functions, which a layer-parallel solver declares in its spec's
``layer_functions`` (pdADMM's :data:`amref.solvers.pdadmm.LAYER_FUNCTIONS`: ``update_layer_primal``,
``update_layer_dual``, ``layer_diagnostics``, …), and produce identical iterates. :func:`open_runner` builds
one from the command line's ``--runner``, ``--workers``, ``--scheduler`` and closes what it started.
The dask runner needs the ``distributed`` extra (``pip install "amref[distributed]"``).

A worker that dies takes part of the state with it: :func:`minimize_with_restores` (an outer loop
around :func:`amref.minimize`) resumes such a run from its last checkpoint on the workers that are left.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from .recovery import minimize_with_restores
from .serial import SerialRunner

__all__ = ["RUNNERS", "DaskRunner", "SerialRunner", "WorkerLostError", "check_runner", "minimize_with_restores",
           "open_runner", "probe_scheduler", "supports_layer_parallel"]

RUNNERS = ("serial", "dask")


def __getattr__(name: str) -> Any:  # the dask runner is imported only when asked for
    if name in ("DaskRunner", "WorkerLostError"):
        from . import dask

        return getattr(dask, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def supports_layer_parallel(spec: Any) -> bool:
    """True for a solver that declares per-layer functions (its spec's ``layer_functions``; today pdadmm,
    pdadmm-g and pdadmm-g-q)."""
    return getattr(spec, "layer_functions", None) is not None


def check_runner(name: str, spec: Any = None, *, workers: int | None = None, scheduler: str | None = None) -> None:
    """Raise ``ValueError`` for a runner that cannot run ``spec`` or arguments that do not fit it
    (before anything is started)."""
    if name not in RUNNERS:
        raise ValueError(f"unknown runner {name!r}; choose from {', '.join(RUNNERS)}")
    if name == "serial" and (workers is not None or scheduler is not None):
        raise ValueError("--workers and --scheduler need --runner dask")
    if workers is not None and scheduler is not None:
        raise ValueError("give --workers (a local cluster) or --scheduler (a running cluster), not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"--workers must be a positive integer, got {workers!r}")
    if name == "dask" and spec is not None and not supports_layer_parallel(spec):
        raise ValueError(f"--runner dask runs pdadmm, pdadmm-g and pdadmm-g-q, not {spec.name!r}")


def probe_scheduler(address: str, timeout: float) -> None:
    """Check, within ``timeout`` seconds, that a dask scheduler answers at ``address`` (before a ``Client``
    waits on it unbounded).

    A TCP address must accept a connection and open it the way a dask comm does (a small length prefix
    first); other schemes (``tls://``, ``inproc://``, …) are only parsed.

    Raises
    ------
    ValueError
        ``address`` is not an address.
    ConnectionError
        Nothing answers, something else answers, or nothing is said within ``timeout``.
    """
    import socket
    import struct

    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme not in ("tcp", "tls"):
            return
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"--scheduler {address!r} is not an address like tcp://host:8786 ({exc})") from None
    if scheme != "tcp":
        return
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            head = b""
            while len(head) < 8:
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
    except socket.timeout:
        raise ConnectionError(f"no dask scheduler answered at {address} within {timeout:g} s") from None
    except OSError as exc:
        raise ConnectionError(f"cannot reach the dask scheduler at {address}: {exc.strerror or exc}") from None
    if len(head) < 8 or not 0 < struct.unpack("<Q", head)[0] < 1 << 20:  # a length prefix, not text
        raise ConnectionError(f"{address} does not answer like a dask scheduler (another kind of server?)")


@contextlib.contextmanager
def open_runner(
    name: str = "serial",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    processes: bool = True,
    connect_timeout: float | None = None,
    **runner_options: Any,
) -> Iterator[Any]:
    """A runner by name; a dask cluster or connection it opens is closed on exit.

    Parameters
    ----------
    name : {"serial", "dask"}
    workers : int, optional
        ``"dask"``: start a ``LocalCluster`` of this many single-threaded workers (default: one per CPU).
    scheduler : str, optional
        ``"dask"``: connect to a running scheduler instead (e.g. ``"tcp://host:8786"``).
    processes : bool
        LocalCluster workers as processes (default) or threads of this process.
    connect_timeout : float, optional
        Seconds to wait for ``scheduler`` to answer (default: dask's ``distributed.comm.timeouts.connect``).
    runner_options
        Passed to :class:`DaskRunner`.

    Raises
    ------
    ValueError
        See :func:`check_runner`.
    ConnectionError
        ``scheduler`` cannot be reached.
    """
    check_runner(name, workers=workers, scheduler=scheduler)
    if name == "serial":
        if runner_options:
            raise ValueError(f"the serial runner takes no options, got {sorted(runner_options)}")
        yield SerialRunner()
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError('the dask runner needs dask.distributed: pip install "amref[distributed]"') from exc
    from .dask import DaskRunner, local_cluster

    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            timeout = {} if connect_timeout is None else {"timeout": connect_timeout}
            probe_scheduler(scheduler, 10.0 if connect_timeout is None else connect_timeout)
            try:
                client = stack.enter_context(Client(scheduler, set_as_default=False, **timeout))
            except (OSError, TimeoutError) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ConnectionError(f"cannot reach the dask scheduler at {scheduler}: {reason}") from None
        else:
            cluster = stack.enter_context(local_cluster(workers, processes=processes))
            client = stack.enter_context(Client(cluster, set_as_default=False))
        yield DaskRunner(client, **runner_options)
