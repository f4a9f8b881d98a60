"""Provenance of a run: what produced it and on what, so that two records' conditions can be told apart.

:func:`collect` returns a plain-JSON dict that every run record (``amref train --out``) and every
``results.json`` of ``amref reproduce`` carries under ``provenance``:

==================  ==========================================================================
key                 what
==================  ==========================================================================
``amref``           version, and the git commit (``dirty`` when the checkout has local changes)
                    when amref runs from a git checkout
``command``         the command line (``sys.argv``)
``python``          version and implementation
``packages``        NumPy, SciPy and, when imported, CuPy versions
``blas``            the BLAS/OpenMP libraries threadpoolctl sees: library, version, threads
``cpu``             CPU model, logical CPU count, platform
``device``          CUDA runtime version and device name, only when ``backend="cupy"``
``date``            UTC time of the call (ISO 8601)
``seeds``           the seeds of the run(s), when given
==================  ==========================================================================

Everything is read locally (``git`` is run only on amref's own directory); a piece that cannot be
read is ``None``, never an error.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from typing import Any, Sequence

__all__ = ["collect", "cpu_model", "git_commit"]

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def git_commit(path: str = _ROOT) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the git checkout holding ``path``, or None outside one."""
    if not os.path.exists(os.path.join(path, ".git")):
        return None
    try:
        sha = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", path, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": sha, "dirty": bool(status.strip())}


def cpu_model() -> str | None:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else :func:`platform.processor`)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _blas() -> list[dict[str, Any]] | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [{"library": i.get("internal_api"), "version": i.get("version"), "threads": i.get("num_threads"),
             "api": i.get("user_api")} for i in threadpool_info()]


def _device() -> dict[str, Any] | None:
    try:
        import cupy
    except ImportError:
        return None
    try:
        dev = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(dev.id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        return {"name": name, "id": dev.id, "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion()}
    except Exception:  # noqa: BLE001 - no device, no driver: the record says so
        return {"name": None}


def _version(module: str) -> str | None:
    if module not in sys.modules:
        try:
            __import__(module)
        except ImportError:
            return None
    return getattr(sys.modules[module], "__version__", None)


def collect(*, seeds: Sequence[int] | None = None, backend: str = "numpy",
            argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The provenance of a run made now, in this process.

    Parameters
    ----------
    seeds : sequence of int, optional
        The seeds of the run(s) the record describes.
    backend : {"numpy", "cupy"}
        The array backend; with ``"cupy"`` the CUDA device is recorded too.
    argv : sequence of str, optional
        The command line (default ``sys.argv``).

    Returns
    -------
    dict
        Plain JSON (see the module docstring for the keys).
    """
    from . import __version__

    packages = {"numpy": _version("numpy"), "scipy": _version("scipy")}
    if backend == "cupy" or "cupy" in sys.modules:
        packages["cupy"] = _version("cupy")
    out: dict[str, Any] = {
        "amref": {"version": __version__, "git": git_commit()},
        "command": list(sys.argv if argv is None else argv),
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation()},
        "packages": packages,
        "blas": _blas(),
        "cpu": {"model": cpu_model(), "count": os.cpu_count(), "platform": platform.platform()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "backend": backend,
    }
    if backend == "cupy":
        out["device"] = _device()
    if seeds is not None:
        out["seeds"] = [int(s) for s in seeds]
    return out
