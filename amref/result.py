"""What every solver and baseline returns: :class:`Result`, its :class:`Status` and :class:`History`.

Modelled on ``scipy.optimize.OptimizeResult`` (attribute access, a readable repr) and on OSQP/SCS
solver reporting (a status enum with a message, per-iteration residuals, timings).

History columns recorded by the driver for every solver (one entry per iteration):

=====================  ========================================================================
key                    meaning
=====================  ========================================================================
``iteration``          1-based iteration (epoch for the gradient baselines)
``objective``          the quantity the method decreases: the augmented Lagrangian L_ρ for the
                       ADMM solvers, the penalised objective F for mDLAM/BCD, the training loss
                       for gradient baselines (see each solver's ``diagnostics``)
``residual``           squared Frobenius norm of the primal (constraint) residual, as the authors'
                       codes log it (dlADMM: ‖z_L − W_L a_{L-1} − b_L‖²); 0 for methods without one
``train_loss``         mean loss (``MLP.loss``) per sample of the plain forward pass on the training set
``train_accuracy``     accuracy of the plain forward pass on the training set
``test_loss``          as ``train_loss`` on the test set (NaN when no test set)
``test_accuracy``      as ``train_accuracy`` on the test set (NaN when no test set)
``seconds``            wall time of the iteration's updates (evaluation excluded), synchronised
=====================  ========================================================================

Solvers add their own scalar columns (``rho``, ``nu``, ``bytes_sent``…).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from typing import Any

__all__ = ["STANDARD_COLUMNS", "History", "Result", "Status"]

STANDARD_COLUMNS = (
    "iteration",
    "objective",
    "residual",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "seconds",
)


class Status(str, enum.Enum):
    """Why a run ended."""

    COMPLETED = "completed"
    """All requested iterations ran (``max_iter`` reached)."""
    CONVERGED = "converged"
    """The convergence test of ``tol`` held (residual, or relative objective change without constraints)."""
    STOPPED_BY_CALLBACK = "stopped_by_callback"
    """The callback raised :class:`StopIteration`."""
    DIVERGED = "diverged"
    """An iterate or a monitored scalar became NaN or inf; the last finite state is kept."""
    INTERRUPTED = "interrupted"
    """KeyboardInterrupt; the last completed iteration is kept (and checkpointed if asked)."""
    STATE_LOST = "state_lost"
    """Part of the state was lost (a worker died) more often than ``max_restores`` allowed; the last
    checkpoint is kept untouched and resumable, the result has no state and no params."""

    @property
    def success(self) -> bool:
        """True for a normal end (completed, converged or stopped on request)."""
        return self in (Status.COMPLETED, Status.CONVERGED, Status.STOPPED_BY_CALLBACK)


class History(dict):
    """Per-iteration scalars: a ``dict`` mapping column name → list of floats (all lists equal length)."""

    def append(self, row: dict[str, float]) -> None:
        """Add one iteration's values. New columns are back-filled with NaN; missing ones get NaN."""
        n = len(self)
        for key in row:
            if key not in self:
                self[key] = [math.nan] * n
        for key in self:
            self[key].append(float(row.get(key, math.nan)))

    def __len__(self) -> int:  # number of iterations, not of columns
        return len(self.get("iteration", []))

    @property
    def columns(self) -> list[str]:
        """Column names."""
        return list(self.keys())

    def last(self, key: str, default: float = math.nan) -> float:
        """Most recent value of a column."""
        values = self.get(key)
        return values[-1] if values else default

    def set_last(self, values: dict[str, float]) -> None:
        """Overwrite (or add) columns of the last row, e.g. an evaluation made after the run ended."""
        n = len(self)
        for key, value in values.items():
            if key not in self:
                self[key] = [math.nan] * n
            self[key][-1] = float(value)

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` iterations (used when resuming from a checkpoint)."""
        for key in self:
            del self[key][n:]


@dataclasses.dataclass
class Result:
    """Outcome of :func:`amref.driver.minimize` (and of every solver and baseline).

    Attributes
    ----------
    solver : str
        Solver name (``"dladmm"``, ``"adam"``, …).
    status : Status
        Why the run ended; ``status.success`` tells whether it ended normally.
    message : str
        One line for humans.
    nit : int
        Number of completed iterations.
    params : list
        Final weights ``[W_1, b_1, …, W_L, b_L]`` (the last finite ones on divergence).
    state : object
        Full final solver state (what a checkpoint stores).
    history : History
        Per-iteration scalars (see the module docstring).
    options : dict
        The options used, as plain values.
    timings : dict
        ``setup`` and ``solve`` seconds.
    checkpoint : dict or None
        ``{"path": …, "nit": …}`` of the last checkpoint this run wrote (None: none).
    """

    solver: str
    status: Status
    message: str
    nit: int
    params: list
    state: Any
    history: History
    options: dict
    timings: dict
    checkpoint: dict | None = None

    @property
    def success(self) -> bool:
        """``status.success``."""
        return self.status.success

    @property
    def objective(self) -> float:
        """Last recorded objective."""
        return self.history.last("objective")

    @property
    def residual(self) -> float:
        """Last recorded primal residual."""
        return self.history.last("residual")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: solver, options, status, message, nit, success, timings, history."""
        return {
            "solver": self.solver,
            "options": _jsonable(self.options),
            "status": self.status.value,
            "message": self.message,
            "success": self.success,
            "nit": self.nit,
            "timings": dict(self.timings),
            "checkpoint": self.checkpoint,
            "history": {k: list(v) for k, v in self.history.items()},
        }

    def to_json(self, **extra: Any) -> str:
        """:meth:`to_dict` (plus ``extra`` keys) as JSON; NaN and inf are written as ``null``."""
        payload = self.to_dict()
        payload.update(extra)
        return json.dumps(_jsonable(payload), indent=1, allow_nan=False)

    def __repr__(self) -> str:
        h = self.history
        lines = [
            f"     solver: {self.solver}",
            f"     status: {self.status.value}",
            f"    message: {self.message}",
            f"        nit: {self.nit}",
            f"  objective: {h.last('objective'):.6g}",
            f"   residual: {h.last('residual'):.6g}",
            f" train acc.: {h.last('train_accuracy'):.4f}",
            f"  test acc.: {h.last('test_accuracy'):.4f}",
            "    timings: " + ", ".join(f"{k} {v:.3g} s" for k, v in self.timings.items()),
        ]
        return "\n".join(lines)


def _jsonable(x: Any) -> Any:
    """Plain-JSON copy: enums to values, non-finite floats to None, tuples to lists."""
    if isinstance(x, enum.Enum):
        return x.value
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and callable(x.item):
        return _jsonable(x.item())
    return x
