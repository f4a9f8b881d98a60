"""Guards of a command-line run: nothing lost, nothing silently wrong.

``amref train`` calls these before and after :func:`amref.parallel.minimize_with_restores`:

=============================  =========================================================================
:func:`check_outputs`          before the first iteration: every output path writable, not a directory
                               or a special file, no two outputs on one file, none over an input; stale
                               temporaries of an earlier killed write removed
:func:`stop_on_signals`        SIGINT, SIGTERM, SIGHUP end a run the way a clean stop does (the driver's
                               ``INTERRUPTED`` path: last finite state checkpointed, run record written);
                               the exit status is 128 + the signal's number
:func:`resume_point`           the checkpoint to resume, validated (solver, widths, dataset, a consistent
                               run) and the flags that would change its options refused, by name
:func:`save_interrupted`       the checkpoint of an interrupted run that had only ``--out``
=============================  =========================================================================
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import tempfile
import threading
from typing import Any, Iterator, Mapping

import numpy as np

from . import checkpoint as ckpt

__all__ = ["Interrupt", "check_outputs", "interrupted_checkpoint_path", "option_differences", "resume_point",
           "save_interrupted", "stop_on_signals"]


# ----------------------------------------------------------------------------- output paths
def interrupted_checkpoint_path(out: str) -> str:
    """Where an interrupted run that has ``--out`` (a run record)  but no ``--checkpoint`` saves its state:
    the record's name with ``.ckpt.npz`` for its extension, beside it."""
    stem, ext = os.path.splitext(out)
    return (stem if ext.lower() == ".json" else out) + ".ckpt.npz"


def check_outputs(outputs: Mapping[str, str | None], inputs: Mapping[str, str | None] = {},
                  may_overwrite: Mapping[str, str] = {}) -> None:
    """Raise ``ValueError`` (one line, naming the flag) unless every output can be written.

    Parameters
    ----------
    outputs
        ``{flag: path}`` of files the run will write (None: not written).
    inputs
        ``{flag: path}`` of files the run reads; no output may overwrite one, except as below.
    may_overwrite
        ``{output flag: input flag}`` pairs that may name one file (``--checkpoint`` over ``--resume``:
        the run continues that checkpoint).

    Also removes the temporaries that an earlier, killed write to an output left behind.
    """
    seen: dict[str, str] = {}
    for flag, path in outputs.items():
        if path is None:
            continue
        if path == "":
            raise ValueError(f"{flag}: empty file name")
        real = os.path.realpath(path)
        if os.path.isdir(real):
            raise ValueError(f"{flag}: {path} is a directory")
        if os.path.exists(real) and not os.path.isfile(real):
            raise ValueError(f"{flag}: {path} is not a regular file")
        if real in seen:
            raise ValueError(f"{seen[real]} and {flag} name the same file {path}")
        seen[real] = flag
        for in_flag, in_path in inputs.items():
            if in_path is not None and os.path.realpath(in_path) == real and may_overwrite.get(flag) != in_flag:
                raise ValueError(f"{flag} {path} would overwrite the {in_flag} file")
        _check_writable(flag, path)
        ckpt.remove_stale_temporaries(path)


def _check_writable(flag: str, path: str) -> None:
    """Create (and remove) a file where ``path``'s directory is or would be created."""
    directory = os.path.dirname(os.path.abspath(path))
    existing = directory
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"{flag}: cannot write {path}: {existing} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".amref-probe-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"{flag}: cannot write {path}: {exc.strerror or exc}") from None


# ----------------------------------------------------------------------------- signals
@dataclasses.dataclass
class Interrupt:
    """The signal that stopped a run (None: none).

    Attributes
    ----------
    signum : int or None
    """

    signum: int | None = None

    @property
    def name(self) -> str:
        """``"SIGTERM"``, ``"SIGINT"``, or ``""``."""
        return "" if self.signum is None else signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + (self.signum or signal.SIGINT)


@contextlib.contextmanager
def stop_on_signals(signals: tuple[int, ...] = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                                                   if hasattr(signal, name))) -> Iterator[Interrupt]:
    """Turn ``signals`` (SIGINT, SIGTERM, and SIGHUP: the terminal closed) into ``KeyboardInterrupt``
    (which :func:`amref.minimize` ends as ``INTERRUPTED``).

    Yields an :class:`Interrupt` that records the signal. Outside the main thread it does nothing.
    """
    received = Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: Any) -> None:
        first = received.signum is None
        received.signum = signum
        if first:
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield received
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def save_interrupted(path: str, solver: Any, problem: Any, data: Any, options: Any, result: Any) -> str:
    """Write the checkpoint of an interrupted ``result`` to ``path`` (inside the runner: its state may live
    on workers); returns :meth:`RunCheckpoint.describe`'s text."""
    saver = ckpt.RunCheckpoint(path, 0, solver.name, problem.widths, options, solver.export_state,
                               dataset=ckpt.dataset_identity(data), network=ckpt.network_identity(problem))
    saver.save(result.state, dict(result.history), result.nit)
    return saver.describe()


# ----------------------------------------------------------------------------- resume
def _flatten(options: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out.update(_flatten(value, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = value
    return out


def option_differences(old: Any, new: Any) -> list[str]:
    """``["rho: 1e-06 → 1.0", …]``: the options (dotted names) where two options dataclasses differ."""
    if type(old) is not type(new):
        return [f"options class: {type(old).__name__} → {type(new).__name__}"]
    a, b = _flatten(old), _flatten(new)
    return [f"{key}: {a[key]!r} → {b[key]!r}" for key in a if a[key] != b.get(key)]


def resume_point(path: str, *, solver: str, widths: tuple, data: Any, network: dict | None = None) -> tuple[Any, int]:
    """``(options, nit)`` of checkpoint ``path``, after checking it resumes this run.

    Raises
    ------
    ValueError
        (:class:`~amref.checkpoint.CheckpointError`) naming what differs or what is damaged.
    FileNotFoundError
        No such file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--resume: no such file {path!r}")
    options, _, nit, _ = ckpt.restore_run(path, solver=solver, widths=widths, xp=np,
                                          dataset=ckpt.dataset_identity(data), network=network)
    return options, nit
