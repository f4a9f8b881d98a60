"""The numbers a protocol reports from a run, and the verdict rule that sets them beside the paper's.

Metrics (names in a protocol's ``metrics`` list):

==========================  ==================================================================================
``train_accuracy``,         accuracy after the last iteration, or at each of the protocol's ``report_epochs``
``test_accuracy``           (runs without greedy stages)
``val_accuracy``            validation accuracy of the final weights (graph datasets)
``monotone:COL``            fraction of consecutive iterations in which history column COL did not rise
                            (relative tolerance 1e-12)
``ln_first:COL``,           natural log of COL's first, last or smallest value
``ln_last:COL``,
``ln_min:COL``
``first:COL``,              COL's first or last value
``last:COL``
``boundary_bytes``          bytes the layer boundary arrays p and q need per iteration
                            (:func:`amref.quantize.boundary_bytes` of the final network; what the dask
                            runner measures as ``bytes_sent``)
==========================  ==================================================================================
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from .spec import PaperValue

__all__ = ["ACCURACIES", "VERDICTS", "compute", "describe", "known", "mean_std", "verdict"]

ACCURACIES = ("train_accuracy", "test_accuracy", "val_accuracy")
_COLUMN_METRICS = ("monotone", "ln_first", "ln_last", "ln_min", "first", "last")
VERDICTS = ("reproduced", "not reproduced", "no paper value", "not comparable")
"""Verdicts: by the paper value's rule; ``no paper value`` where the paper gives none; ``not comparable``
for a quick run whose size makes the paper's number meaningless beside it."""


def known(metric: str) -> bool:
    """Whether ``metric`` is a metric name this module computes."""
    kind, sep, column = metric.partition(":")
    return metric in ACCURACIES or metric == "boundary_bytes" or (bool(sep) and kind in _COLUMN_METRICS
                                                                  and bool(column))


def describe() -> str:
    """The metric names, in one line."""
    return ", ".join(ACCURACIES + ("boundary_bytes",) + tuple(f"{k}:COLUMN" for k in _COLUMN_METRICS))


def _at(history: dict, column: str, epoch: int | None) -> float:
    values = history.get(column)
    if not values:
        return math.nan
    if epoch is None:
        return float(values[-1])
    for it, v in zip(history["iteration"], values):
        if it == epoch:
            return float(v) if v is not None else math.nan
    return math.nan


def _ln(v: float) -> float:
    return math.log(v) if v is not None and v > 0 and math.isfinite(v) else math.nan


def compute(metric: str, history: dict, *, epoch: int | None = None, context: dict[str, Any] | None = None) -> float:
    """The value of ``metric`` for a run with ``history`` (NaN when it cannot be computed).

    ``context`` carries what is not in the history: ``val_accuracy`` (of the final weights) and, for
    ``boundary_bytes``, ``widths``, ``n_train``, ``dtype`` and ``options``.
    """
    context = context or {}
    if metric in ("train_accuracy", "test_accuracy"):
        return _at(history, metric, epoch)
    if metric == "val_accuracy":
        return float(context.get("val_accuracy", math.nan))
    if metric == "boundary_bytes":
        from ..quantize import boundary_bytes

        options = context["options"]
        quantize = getattr(options, "quantize", None)
        out = boundary_bytes(context["widths"], context["n_train"], dtype=context["dtype"], quantize=quantize,
                             grid=getattr(options, "levels", None) if quantize else None)
        return float(out["p"] + out["q"])
    kind, _, column = metric.partition(":")
    values = [float(v) for v in history.get(column, []) if v is not None]
    if not values:
        return math.nan
    if kind == "monotone":
        pairs = list(zip(values, values[1:]))
        return sum(b <= a + 1e-12 * abs(a) for a, b in pairs) / len(pairs) if pairs else math.nan
    return {"ln_first": lambda: _ln(values[0]), "ln_last": lambda: _ln(values[-1]), "ln_min": lambda: _ln(min(values)),
            "first": lambda: values[0], "last": lambda: values[-1]}[kind]()


def verdict(paper: PaperValue | None, ours: float, *, quick: bool = False, comparable: bool = True) -> str:
    """``reproduced`` / ``not reproduced`` by the paper value's rule and tolerance; ``no paper value`` without
    one; ``not comparable`` for a quick run the protocol (or the value) marks as not comparable."""
    if paper is None or paper.value is None:
        return "no paper value"
    if quick and not (paper.quick_comparable if paper.quick_comparable is not None else comparable):
        return "not comparable"
    if ours is None or not math.isfinite(ours):
        return "not reproduced"
    ok = {"within": abs(ours - paper.value) <= paper.tolerance + 1e-12,
          "at_least": ours >= paper.value - paper.tolerance - 1e-12,
          "at_most": ours <= paper.value + paper.tolerance + 1e-12}[paper.rule]
    return "reproduced" if ok else "not reproduced"


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and population standard deviation of the finite values (None, None when there are none)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None, None
    m = sum(finite) / len(finite)
    return m, math.sqrt(sum((v - m) ** 2 for v in finite) / len(finite))

