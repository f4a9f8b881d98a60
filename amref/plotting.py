"""Convergence and accuracy curves from JSON run records (``amref train --out``), drawn to PNG.

Reads only the run records' ``history``; matplotlib is imported lazily (``pip install 'amref[plot]'``).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Sequence

__all__ = ["PANELS", "load_run", "plot_runs"]

PANELS = (
    ("objective", "objective", True),
    ("residual", "primal residual ‖r‖²", True),
    ("train_accuracy", "training accuracy", False),
    ("test_accuracy", "test accuracy", False),
)


def load_run(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a run record; raises ``ValueError`` with the file name on anything malformed."""
    try:
        with open(path, encoding="utf-8") as f:
            run = json.load(f)
    except FileNotFoundError:
        raise
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON run record ({exc})") from exc
    if not isinstance(run, dict) or not isinstance(run.get("history"), dict) or "iteration" not in run["history"]:
        raise ValueError(f"{path}: not an amref run record (no history with iterations)")
    n = len(run["history"]["iteration"])
    for key, values in run["history"].items():
        if not isinstance(values, list) or len(values) != n:
            raise ValueError(f"{path}: history column {key!r} is not a list of {n} values")
    run.setdefault("label", _label(run, path))
    return run


def _label(run: dict[str, Any], path: str | os.PathLike) -> str:
    opts = run.get("options") or {}
    bits = [str(run.get("solver", "?"))]
    for key in ("rho", "nu", "lr"):
        if key in opts and opts[key] is not None:
            bits.append(f"{key}={opts[key]:g}" if isinstance(opts[key], (int, float)) else f"{key}={opts[key]}")
    if run.get("dataset"):
        bits.append(str(run["dataset"]))
    return " ".join(bits) or os.path.basename(os.fspath(path))


def _positive(values: Sequence[Any]) -> list[float]:
    return [v if isinstance(v, (int, float)) and v is not None and v > 0 and math.isfinite(v) else math.nan
            for v in values]


def plot_runs(runs: Sequence[dict[str, Any]], path: str | os.PathLike, title: str | None = None) -> None:
    """Draw objective, residual (log scale) and train/test accuracy of each run into one PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("amref plot needs matplotlib (pip install 'amref[plot]')") from exc
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    for ax, (key, label, log) in zip(axes.ravel(), PANELS):
        drawn = False
        for run in runs:
            h = run["history"]
            if key not in h:
                continue
            ys = _positive(h[key]) if log else [math.nan if v is None else v for v in h[key]]
            if all(math.isnan(v) for v in ys):
                continue
            ax.plot(h["iteration"], ys, label=run["label"], linewidth=1.4)
            drawn = True
        ax.set_xlabel("iteration")
        ax.set_ylabel(label)
        if log and drawn:
            ax.set_yscale("log")
        if not drawn:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes, color="gray")
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[1, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
