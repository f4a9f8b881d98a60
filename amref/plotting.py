"""Convergence and accuracy curves from JSON run records (``amref train --out``), drawn to PNG.

Reads only the run records' ``history``; matplotlib is imported lazily (``pip install 'amref[plot]'``).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Sequence

__all__ = ["PANELS", "load_run", "output_path", "plot_runs", "run_labels"]

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
    argv = run.get("argv") if isinstance(run.get("argv"), list) else []
    for i, arg in enumerate(argv):
        if arg == "--preset" and i + 1 < len(argv):
            bits.append(f"preset={argv[i + 1]}")
        elif isinstance(arg, str) and arg.startswith("--preset="):
            bits.append(f"preset={arg.partition('=')[2]}")
    if run.get("status") in ("interrupted", "diverged", "state_lost", "stopped_by_callback"):
        bits.append(f"({run['status']})")  # a curve that ends early says why
    return " ".join(bits) or os.path.basename(os.fspath(path))


def _flat(options: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def run_labels(runs: Sequence[dict[str, Any]], paths: Sequence[str | os.PathLike] | None = None) -> list[str]:
    """One distinct label per run: its ``label`` (solver, ρ/ν/lr, dataset), then the options in which runs
    with the same label differ (``--preset code`` against the paper's defaults, say), then the file name.

    Parameters
    ----------
    runs
        Run records (:func:`load_run`).
    paths
        Their files (for the last resort); default ``run i``.
    """
    paths = [f"run {i + 1}" for i in range(len(runs))] if paths is None else list(paths)
    labels = [str(run.get("label") or _label(run, path)) for run, path in zip(runs, paths)]
    for label in set(labels):
        same = [i for i, text in enumerate(labels) if text == label]
        if len(same) < 2:
            continue
        flats = [_flat(runs[i].get("options")) for i in same]
        keys = sorted({k for f in flats for k in f if any(g.get(k) != f.get(k) for g in flats)})
        for i, f in zip(same, flats):
            extra = [f"{k}={f.get(k)}" for k in keys[:3]] + (["…"] if len(keys) > 3 else [])
            labels[i] = " ".join([label, *extra])
    if len(set(labels)) < len(labels):
        labels = [f"{text} ({os.path.basename(os.fspath(path))})" for text, path in zip(labels, paths)]
    return labels


def _finite(values: Sequence[Any]) -> list[float]:
    return [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else math.nan
            for v in values]


def _x_label(runs: Sequence[dict[str, Any]]) -> str:
    """What the x-axis counts: gradient baselines count epochs, AM solvers iterations."""
    from .registry import baseline_names

    kinds = {run.get("solver") in baseline_names() for run in runs}
    if kinds == {True}:
        return "epoch"
    if kinds == {False}:
        return "iteration"
    return "iteration (epoch for gradient baselines)"


def output_path(path: str | os.PathLike) -> str:
    """The file :func:`plot_runs` writes for ``path``: ``path`` itself, or ``path.png`` without an extension."""
    path = os.fspath(path)
    return path if os.path.splitext(path)[1] else path + ".png"


def plot_runs(runs: Sequence[dict[str, Any]], path: str | os.PathLike, title: str | None = None,
              labels: Sequence[str] | None = None) -> str:
    """Draw objective, residual and train/test accuracy of each run into one image; returns the file written.

    Each run has one colour in every panel and one legend entry. Objective and residual are drawn on a
    log axis when every recorded value is positive, else on a symmetric-log axis (an objective can be
    negative); a panel says "not recorded" only when no run has a finite value there. The x-axis says
    what it counts (epochs for gradient baselines).

    Parameters
    ----------
    runs
        Run records (:func:`load_run`).
    path
        Image file; without an extension ``.png`` is added (the name returned).
    title
        Figure title.
    labels
        One legend label per run (default :func:`run_labels`).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
    except ImportError as exc:
        raise ImportError("amref plot needs matplotlib (pip install 'amref[plot]')") from exc
    if labels is None:
        labels = run_labels(runs)
    elif len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} runs")
    colours = [f"C{i % 10}" for i in range(len(runs))]
    xlabel = _x_label(runs)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    for ax, (key, name, log) in zip(axes.ravel(), PANELS):
        finite_values = []
        for run, colour, label in zip(runs, colours, labels):
            h = run["history"]
            ys = _finite(h.get(key, []))
            if not ys or all(math.isnan(v) for v in ys) or (key == "residual" and all(v == 0 for v in ys)):
                continue  # nothing recorded (a gradient baseline has no constraints: residual 0 throughout)
            ax.plot(h["iteration"], ys, color=colour, label=label, linewidth=1.4)
            finite_values += [v for v in ys if not math.isnan(v)]
        ax.set_xlabel(xlabel)
        ax.set_ylabel(name)
        if log and finite_values:
            if min(finite_values) > 0:
                ax.set_yscale("log")
            else:
                nonzero = [abs(v) for v in finite_values if v != 0]
                ax.set_yscale("symlog", linthresh=min(nonzero) if nonzero else 1.0)
                ax.set_ylabel(f"{name} (symmetric log)")
        if not finite_values:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes, color="gray")
        ax.grid(True, alpha=0.3)
    handles = [Line2D([], [], color=colour, linewidth=1.4) for colour in colours]
    fig.legend(handles, list(labels), loc="lower center", ncol=min(3, len(labels)), fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    target = output_path(path)
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target
