"""The solver contract: what a solver declares (:class:`SolverSpec`), what a callback receives after an
iteration (:class:`IterationInfo`), and the exception a solver raises when part of its state is gone
(:class:`StateLost`).

Solvers import this module to declare themselves; only :mod:`amref.driver` runs them. Nothing here
imports the driver, the solvers or the runners.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol

from .data.dataset import Dataset
from .problem import MLP, Params

__all__ = ["InitState", "IterationInfo", "SolverSpec", "StateLost"]


class InitState(Protocol):
    """``(problem, data, params, options) -> state``."""

    def __call__(self, problem: MLP, data: Dataset, params: Params, options: Any) -> Any: ...


@dataclasses.dataclass(frozen=True)
class SolverSpec:
    """The pure functions that define a solver; everything else is the driver's job.

    Attributes
    ----------
    name : str
        Registry and command-line name.
    options_class : type
        Frozen dataclass of the solver's options (validated in ``__post_init__``).
    init_state : callable
        ``(problem, data, params, options) -> state``.
    step : callable
        ``(state, data, options) -> state``: one iteration, returning a **new** state (inputs are
        never modified, which is what lets the driver keep the last finite state).
    diagnostics : callable
        ``(state, data, options) -> dict`` of scalars; must contain ``objective`` and ``residual``.
    params : callable
        ``state -> [W_1, b_1, …, W_L, b_L]``.
    end_iteration : callable or None
        ``(state, row, options) -> state``, called with the iteration's history row (schedules).
    paper_loss : str
        The output loss of the paper's experiments (``"cross_entropy"``, ``"squared"``, ``"hinge"``);
        the command line's default for ``--loss``.
    export_state : callable or None
        ``state -> state`` that :mod:`amref.checkpoint` can save, for states whose arrays live
        elsewhere (the dask runner gathers its worker-resident blocks); None: the state itself.
    import_state : callable or None
        ``(saved_state, problem, data, options) -> state``: the inverse, used on resume and restore
        (the dask runner places the blocks on its workers); None: the saved state itself.
    layer_functions : object or None
        Capability of layer-parallel solvers: the module (or namespace) holding the per-layer
        functions a layer-parallel runner calls (``update_layer_primal``, ``update_layer_dual``,
        ``update_u``, ``layer_diagnostics``, ``sum_layer_diagnostics``, ``diagnostics_row``,
        ``init_state``, and ``state_class``, the serial state the checkpoints hold). None: the solver
        is not layer-parallel.
    constrained : bool
        Whether the method has constraints whose violation ``residual`` measures (the AM solvers);
        False for the gradient baselines, whose convergence test is the relative objective change.
    needs_train_loss : callable or None
        ``options -> bool``: whether ``end_iteration`` reads the forward-pass ``train_loss`` of the row
        (the released codes' cost-triggered ρ schedules), so the driver evaluates every iteration.
    carry_state : callable or None
        Capability of greedy hand-over by state: ``(previous_state, problem, data, params, options) ->
        state``, the initial state of a deeper network whose first layers continue from the auxiliary
        variables of ``previous_state`` (a shallower network's final state); ``params`` are the grown
        weights. None: a deeper stage can only start from the weights.
    """

    name: str
    options_class: type
    init_state: InitState
    step: Callable[[Any, Dataset, Any], Any]
    diagnostics: Callable[[Any, Dataset, Any], dict]
    params: Callable[[Any], Params]
    end_iteration: Callable[[Any, dict, Any], Any] | None = None
    paper_loss: str = "cross_entropy"
    export_state: Callable[[Any], Any] | None = None
    import_state: Callable[[Any, MLP, Dataset, Any], Any] | None = None
    layer_functions: Any = None
    constrained: bool = True
    needs_train_loss: Callable[[Any], bool] | None = None
    carry_state: Callable[[Any, MLP, Dataset, Params, Any], Any] | None = None


class StateLost(RuntimeError):
    """Raised by a solver's ``step``, ``diagnostics`` or ``params`` when part of its state is gone (a
    worker holding some layers died); the runner that owns the state restores the last checkpoint."""


class IterationInfo:
    """What the callback receives after an iteration.

    Attributes
    ----------
    iteration : int
        1-based iteration just completed.
    row : dict
        The iteration's history row.
    state : object
        The solver state after the iteration.
    params : list
        ``[W_1, b_1, …, W_L, b_L]`` of ``state``, computed on first access only (for a state that
        lives on workers this gathers the weights, so a callback that never reads it moves nothing).
    """

    __slots__ = ("iteration", "row", "state", "_params_of", "_params")

    def __init__(self, iteration: int, row: dict, state: Any, params_of: Callable[[Any], Params]):
        self.iteration, self.row, self.state = iteration, row, state
        self._params_of, self._params = params_of, None

    @property
    def params(self) -> Params:
        """The weights of :attr:`state` (computed once, when first read)."""
        if self._params is None:
            self._params = self._params_of(self.state)
        return self._params

    def __repr__(self) -> str:
        return f"IterationInfo(iteration={self.iteration}, row={self.row!r})"
