"""Saving and restoring solver state: atomic ``.npz`` files with a JSON description.

A solver state is a dataclass (or NamedTuple) whose fields are arrays, lists/tuples/dicts of arrays,
nested states, or plain JSON values (floats, ints, strings, ``None``, a NumPy generator's state
dict). :func:`pack` turns such an object into ``{key: host array}`` plus a JSON tree that refers to
the arrays by key; :func:`unpack` rebuilds the object, moving the arrays into the requested
namespace. Only dataclass and NamedTuple types are rebuilt, from :mod:`amref` or from modules the
program has already imported (a user's own solver state); nothing is pickled.

Files are written to a temporary name in the same directory and renamed over the target with
:func:`os.replace`, so a crash or a full disk never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import json
import os
import sys
import tempfile
import threading
from types import ModuleType
from typing import IO, Any, Iterator

import numpy as np

from .backend import from_host, to_host

__all__ = [
    "FORMAT_VERSION",
    "RunCheckpoint",
    "network_identity",
    "restore_run",
    "atomic_open",
    "atomic_savez",
    "atomic_write_text",
    "CheckpointError",
    "check_run_payload",
    "dataset_identity",
    "load",
    "remove_stale_temporaries",
    "pack",
    "save",
    "unpack",
]

FORMAT_VERSION = 1
_META_KEY = "__amref_meta__"


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or does not describe a valid state."""


def _is_array(x: Any) -> bool:
    return hasattr(x, "__array_namespace__") or isinstance(x, np.ndarray)


def pack(obj: Any) -> tuple[dict[str, np.ndarray], Any]:
    """Split ``obj`` into host arrays and a JSON-serialisable tree that references them by key."""
    arrays: dict[str, np.ndarray] = {}

    def walk(x: Any, path: str) -> Any:
        if isinstance(x, (np.floating, np.integer, np.bool_)):  # NumPy scalars also have __array_namespace__
            return x.item()
        if _is_array(x):
            arrays[path] = to_host(x)
            return {"__array__": path}
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            fields = {f.name: walk(getattr(x, f.name), f"{path}.{f.name}") for f in dataclasses.fields(x)}
            return {"__type__": _qualname(x), "fields": fields}
        if isinstance(x, tuple) and hasattr(x, "_fields"):  # NamedTuple
            fields = {name: walk(v, f"{path}.{name}") for name, v in zip(x._fields, x)}
            return {"__type__": _qualname(x), "fields": fields}
        if isinstance(x, (list, tuple)):
            items = [walk(v, f"{path}.{i}") for i, v in enumerate(x)]
            return {"__list__": items, "tuple": isinstance(x, tuple)}
        if isinstance(x, dict):
            if not all(isinstance(k, str) for k in x):
                raise TypeError(f"cannot checkpoint a dict with non-string keys at {path}")
            return {"__dict__": {k: walk(v, f"{path}.{k}") for k, v in x.items()}}
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        raise TypeError(f"cannot checkpoint a value of type {type(x).__name__} at {path}")

    tree = walk(obj, "s")
    return arrays, tree


def unpack(arrays: dict[str, np.ndarray], tree: Any, xp: ModuleType, device: Any = None) -> Any:
    """Inverse of :func:`pack`: rebuild the object with its arrays in namespace ``xp`` (on ``device``)."""

    def walk(t: Any) -> Any:
        if isinstance(t, dict):
            if "__array__" in t:
                key = t["__array__"]
                if key not in arrays:
                    raise CheckpointError(f"checkpoint is missing array {key!r}")
                return from_host(arrays[key], xp, device=device)
            if "__type__" in t:
                cls = _resolve(t["__type__"])
                fields = {k: walk(v) for k, v in t["fields"].items()}
                return cls(**fields)
            if "__list__" in t:
                items = [walk(v) for v in t["__list__"]]
                return tuple(items) if t.get("tuple") else items
            if "__dict__" in t:
                return {k: walk(v) for k, v in t["__dict__"].items()}
            raise CheckpointError(f"unrecognised checkpoint node {sorted(t)}")
        return t

    return walk(tree)


def _qualname(x: Any) -> str:
    cls = type(x)
    return f"{cls.__module__}:{cls.__qualname__}"


def _resolve(name: str) -> type:
    """The dataclass / NamedTuple type called ``module:qualname``.

    Only amref modules are imported on demand; any other module must already be imported (a
    user's own solver state), so loading a checkpoint never imports foreign code, and the object
    must be a dataclass or NamedTuple type (never an arbitrary callable such as ``os.system``).
    """
    module, _, qual = name.partition(":")
    if module == "amref" or module.startswith("amref."):
        obj: Any = importlib.import_module(module)
    elif module in sys.modules:
        obj = sys.modules[module]
    else:
        raise CheckpointError(f"refusing to rebuild {name!r}: module {module!r} is not imported")
    try:
        for part in qual.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise CheckpointError(f"checkpoint refers to unknown class {name!r}") from exc
    is_namedtuple = isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields")
    if not (isinstance(obj, type) and (dataclasses.is_dataclass(obj) or is_namedtuple)):
        raise CheckpointError(f"refusing to rebuild {name!r}: not a dataclass or NamedTuple type")
    return obj


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _temporary_prefix(path: str) -> str:
    """``.tmp-NAME.PID-``: a temporary of ``path`` written by process PID (see :func:`remove_stale_temporaries`)."""
    return f".tmp-{os.path.basename(path)}.{os.getpid()}-"


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    A crash, an exception or a full disk leaves ``path`` as it was and no temporary file behind
    (a process killed outright leaves one, which :func:`remove_stale_temporaries` removes). The file
    gets the permissions a plain ``open`` would give it (0666 less the umask).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=os.path.splitext(path)[1], dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Remove the temporaries of ``path`` that killed writers left behind (their process no longer runs).

    Returns
    -------
    list of str
        The files removed.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    head = f".tmp-{os.path.basename(path)}."
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(head):
            continue
        pid_text = name[len(head):].partition("-")[0]
        if not pid_text.isdigit() or _process_runs(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, name))
            removed.append(os.path.join(directory, name))
    return removed


def _process_runs(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but belongs to someone else
        return True
    return True


def atomic_savez(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """``numpy.savez`` to ``path`` atomically (:func:`atomic_open`)."""
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically (:func:`atomic_open`)."""
    with atomic_open(path, "w") as f:
        f.write(text)


def save(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Save a dict of checkpointable values (states, histories, options, counters) atomically."""
    arrays, tree = pack(payload)
    if _META_KEY in arrays:
        raise ValueError(f"{_META_KEY} is reserved")
    meta = json.dumps({"format": FORMAT_VERSION, "tree": tree})
    arrays[_META_KEY] = np.array(meta)
    atomic_savez(path, arrays)


def load(path: str | os.PathLike, xp: ModuleType, device: Any = None) -> dict[str, Any]:
    """Load what :func:`save` wrote, with arrays in namespace ``xp``.

    Raises
    ------
    CheckpointError
        If the file is not an amref checkpoint or is damaged.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from exc
    if _META_KEY not in arrays:
        raise CheckpointError(f"{path}: not an amref checkpoint (no {_META_KEY})")
    try:
        meta = json.loads(str(arrays.pop(_META_KEY)[()]))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: damaged checkpoint description ({exc})") from exc
    if not isinstance(meta, dict) or "tree" not in meta:
        raise CheckpointError(f"{path}: damaged checkpoint description (no tree of the saved values)")
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {meta.get('format')} is not supported")
    try:
        return unpack(arrays, meta["tree"], xp, device)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged checkpoint description ({type(exc).__name__}: {exc})") from None


# ----------------------------------------------------------------------------- run checkpoints
def dataset_identity(data: Any) -> dict[str, Any]:
    """What a run checkpoint records of its data: name, sizes, dtype and a content hash of the arrays.

    ``data`` is an :class:`amref.data.Dataset` (read through its attributes ``name``, ``x_train``,
    ``y_train``, ``x_test``, ``y_test``). The hash (BLAKE2b of the host bytes, shapes and dtypes) tells
    MNIST from Fashion-MNIST and one subset from another of the same size.
    """
    digest = hashlib.blake2b(digest_size=16)
    sizes: dict[str, Any] = {}
    dtype = None
    for split in ("x_train", "y_train", "x_test", "y_test"):
        a = getattr(data, split, None)
        if a is None:
            sizes[split] = None
            continue
        host = np.ascontiguousarray(to_host(a))
        dtype = dtype or str(host.dtype)
        sizes[split] = list(host.shape)
        digest.update(f"{split}{host.shape}{host.dtype.str}".encode())
        digest.update(host.data)
    return {"name": str(getattr(data, "name", "?")), "shapes": sizes, "dtype": dtype, "hash": digest.hexdigest()}


def _identity_mismatch(saved: dict, current: dict) -> str | None:
    """The first difference between two :func:`dataset_identity` records, in words (None: the same data)."""
    if saved.get("name") != current.get("name"):
        return f"dataset {saved.get('name')!r}, not {current.get('name')!r}"
    if saved.get("dtype") != current.get("dtype"):
        return f"dtype {saved.get('dtype')}, not {current.get('dtype')}"
    for split in ("x_train", "x_test"):
        a, b = (saved.get("shapes") or {}).get(split), (current.get("shapes") or {}).get(split)
        if a != b:
            what = lambda s: "none" if s is None else f"{s[1]} samples of {s[0]} features"  # noqa: E731
            return f"{split[2:]} set of {what(a)}, not {what(b)}"
    if saved.get("hash") != current.get("hash"):
        return "other data of the same sizes (content hash differs)"
    return None


@dataclasses.dataclass
class RunCheckpoint:
    """The checkpoints of one run: where, how often, and what was last written.

    A run checkpoint holds the solver's name, the network's widths, the options, the dataset's
    identity (:func:`dataset_identity`), the state (or ``export_state(state)`` for states that live
    elsewhere), the history and the iteration count.

    Attributes
    ----------
    path : str or None
        Checkpoint file (None: no checkpoints).
    every : int
        Period in iterations (0: only when the run ends).
    solver, widths, options
        What the file records besides the state, checked again by :func:`restore_run`.
    export_state : callable or None
        ``state -> state`` that :func:`save` can write (the dask runner's gather); None: the state.
    last_nit : int or None
        Iteration of the last checkpoint this run wrote (None: none yet).
    dataset : dict or None
        :func:`dataset_identity` of the run's data (None: not recorded).
    network : dict or None
        :func:`network_identity` of the run's network (None: not recorded).
    """

    path: str | None
    every: int
    solver: str
    widths: tuple
    options: Any
    export_state: Any = None
    last_nit: int | None = None
    dataset: dict | None = None
    network: dict | None = None

    def save(self, state: Any, history: dict, nit: int) -> None:
        """Write the checkpoint now (no-op without a path)."""
        if self.path is None:
            return
        saved = state if self.export_state is None else self.export_state(state)
        save(self.path, {"solver": self.solver, "widths": list(self.widths), "options": self.options,
                         "state": saved, "history": dict(history), "nit": nit, "dataset": self.dataset,
                         "network": self.network})
        self.last_nit = nit

    def periodic(self, state: Any, history: dict, nit: int) -> None:
        """Write the checkpoint when ``nit`` is a multiple of :attr:`every`."""
        if self.every and nit % self.every == 0:
            self.save(state, history, nit)

    def describe(self) -> str:
        """The last checkpoint written, as ``"PATH (iteration N)"``, or ``"none"``."""
        return "none" if self.last_nit is None else f"{self.path} (iteration {self.last_nit})"


_REQUIRED = ("solver", "widths", "options", "state", "history", "nit")


def network_identity(problem: Any) -> dict:
    """What a checkpoint records of the network besides its widths: hidden activation(s), output loss, task."""
    return {"activation": getattr(problem, "activation", "relu"), "loss": problem.loss,
            "task": getattr(problem, "task", "classification")}


def restore_run(path: str | os.PathLike, *, solver: str, widths: tuple, xp: ModuleType,
                device: Any = None, dataset: dict | None = None,
                network: dict | None = None) -> tuple[Any, Any, int, dict]:
    """``(options, state, nit, history)`` of a run checkpoint, checked against the run that resumes it.

    Parameters
    ----------
    path
        The checkpoint.
    solver, widths
        The resuming run's solver name and network widths.
    xp, device
        Where the state's arrays go.
    dataset : dict, optional
        :func:`dataset_identity` of the resuming run's data; the checkpoint's must be the same.
    network : dict, optional
        :func:`network_identity` of the resuming run's network; a checkpoint that records one must agree.

    Raises
    ------
    CheckpointError
        For another solver's, network's or dataset's checkpoint, a file that is not one, or one that
        does not hold a consistent run (missing entries, a non-finite state, ``nit`` and history
        lengths that disagree).
    """
    saved = check_run_payload(path, load(path, np))
    if saved.get("solver") != solver:
        raise CheckpointError(f"{path}: checkpoint of solver {saved.get('solver')!r}, not {solver!r}")
    if tuple(saved.get("widths", ())) != tuple(widths):
        raise CheckpointError(f"{path}: checkpoint for widths {saved.get('widths')}, not {tuple(widths)}")
    if dataset is not None:
        recorded = saved.get("dataset")
        if not isinstance(recorded, dict):
            raise CheckpointError(f"{path}: checkpoint does not record its dataset, so it cannot be checked "
                                  "against this one")
        mismatch = _identity_mismatch(recorded, dataset)
        if mismatch is not None:
            raise CheckpointError(f"{path}: checkpoint made on {mismatch}")
    recorded_network = saved.get("network")
    if network is not None and isinstance(recorded_network, dict):
        for key, value in network.items():
            if key in recorded_network and recorded_network[key] != value:
                raise CheckpointError(f"{path}: checkpoint of a network with {key} {recorded_network[key]!r}, "
                                      f"not {value!r}")
    nit = saved["nit"]
    state = _to_namespace(saved["state"], xp, device)
    return saved["options"], state, nit, {key: list(values) for key, values in saved["history"].items()}


def check_run_payload(path: str | os.PathLike, saved: Any) -> dict:
    """``saved`` (a loaded run checkpoint, host arrays) if it describes a consistent run, else raise.

    Checks: every entry a run checkpoint has, a non-negative integer ``nit``, every history column a
    list of ``nit`` values, and finite arrays in the state.

    Raises
    ------
    CheckpointError
    """
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: not a run checkpoint")
    missing = [key for key in _REQUIRED if key not in saved]
    if missing:
        raise CheckpointError(f"{path}: not a run checkpoint (missing {', '.join(missing)})")
    nit = saved["nit"]
    if isinstance(nit, bool) or not isinstance(nit, int) or nit < 0:
        raise CheckpointError(f"{path}: damaged checkpoint (iteration count {nit!r})")
    history = saved["history"]
    if not isinstance(history, dict):
        raise CheckpointError(f"{path}: damaged checkpoint (history is not a table)")
    for key, values in history.items():
        if not isinstance(values, list) or len(values) != nit:
            n = len(values) if isinstance(values, list) else "no"
            raise CheckpointError(f"{path}: damaged checkpoint (history column {key!r} has {n} values, "
                                  f"iteration count {nit})")
    if nit and history.get("iteration", list(range(1, nit + 1))) != list(range(1, nit + 1)):
        raise CheckpointError(f"{path}: damaged checkpoint (history iterations are not 1..{nit})")
    bad = _first_non_finite(saved["state"], "state")
    if bad is not None:
        raise CheckpointError(f"{path}: the checkpoint's state holds NaN or inf ({bad}); not resumed")
    return saved


def _first_non_finite(x: Any, where: str) -> str | None:
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "fc" and not np.isfinite(x).all():
            return where
        return None
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        items = ((f.name, getattr(x, f.name)) for f in dataclasses.fields(x))
    elif isinstance(x, tuple) and hasattr(x, "_fields"):
        items = zip(x._fields, x)
    elif isinstance(x, (list, tuple)):
        items = ((str(i), v) for i, v in enumerate(x))
    elif isinstance(x, dict):
        items = x.items()
    else:
        return None
    for name, value in items:
        found = _first_non_finite(value, f"{where}.{name}")
        if found is not None:
            return found
    return None


def _to_namespace(x: Any, xp: ModuleType, device: Any) -> Any:
    """``x`` (loaded with NumPy arrays) with its arrays moved to ``xp`` (types and nesting kept)."""
    if isinstance(x, np.ndarray):
        return from_host(x, xp, device=device)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return type(x)(**{f.name: _to_namespace(getattr(x, f.name), xp, device) for f in dataclasses.fields(x)})
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(_to_namespace(v, xp, device) for v in x))
    if isinstance(x, (list, tuple)):
        return type(x)(_to_namespace(v, xp, device) for v in x)
    if isinstance(x, dict):
        return {k: _to_namespace(v, xp, device) for k, v in x.items()}
    return x
