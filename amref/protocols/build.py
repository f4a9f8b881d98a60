"""From a :class:`~amref.protocols.spec.RunSpec` to what a run needs: the solver's options (preset, then
the protocol's fields), the dataset, the network, greedy stages and initial weights; and :func:`check`,
which builds all of that without data to prove that a protocol names only what exists.

The CLI (``amref train --protocol``) and :func:`amref.protocols.reproduce` both build runs here, so the
two run the same thing.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from .. import optim, registry
from ..data import Dataset, load_dataset
from ..problem import MLP, Params
from ..options import coerce_value, replace_option
from ..quantize import Grid
from ..solvers.greedy import Stage
from . import metrics as _metrics
from .spec import Protocol, ProtocolError, RunSpec

__all__ = ["DATA_KEYS", "apply_options", "build_options", "check", "initial_params", "load_data", "problem_for",
           "stage_options", "stages_for"]

DATA_KEYS = tuple(p for p in inspect.signature(load_dataset).parameters if p not in ("name", "data_dir", "download"))
"""The dataset options a protocol's ``[data]`` may set (the keyword arguments of :func:`amref.load_dataset`)."""

_GRIDS = {"uniform": Grid.uniform, "integers": Grid.integers, "values": Grid.from_values}


def _grid(value: dict) -> Grid:
    (kind, args), = value.items()
    try:
        return _GRIDS[kind](args) if kind == "values" else _GRIDS[kind](*args)
    except TypeError as exc:
        raise ProtocolError(f"grid {value!r}: {exc}") from None


def _is_grid(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _GRIDS


def _flatten(options: dict, prefix: str = "") -> dict[str, Any]:
    """Nested tables and dotted keys alike become dotted keys; grid tables become :class:`Grid` values."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        name = f"{prefix}{key}"
        if _is_grid(value):
            out[name] = _grid(value)
        elif isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def apply_options(options: Any, values: dict, where: str = "options") -> Any:
    """``options`` with ``values`` (dotted or nested keys) set and validated again."""
    try:
        for key, value in _flatten(values).items():
            options = replace_option(options, key, value)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"{where}: {exc}") from None
    return options


def build_options(solver: str, preset: str = "paper", values: dict | None = None, where: str = "options") -> Any:
    """The options of ``solver``: its ``preset`` constructor called with the top-level ``values``, then the
    nested ones set.

    ``preset`` is ``"paper"`` (the class's defaults), ``"code"`` (``released_code()``), another
    classmethod of the options class (``"dladmm_paper"``), or for a gradient baseline a preset of
    :mod:`amref.optim.presets` (``"dladmm"``). Top-level values go through the constructor, so that a
    preset's coupled values (the code's ν = ρ) follow them.
    """
    try:
        spec = registry.get_solver(solver)
    except ValueError as exc:
        raise ProtocolError(f"{where}: {exc}") from None
    cls = spec.options_class
    flat = _flatten(values or {})
    fields = {f.name for f in dataclasses.fields(cls)}
    top = {k: coerce_value(cls, k, v) for k, v in flat.items() if "." not in k}
    if unknown := sorted(set(top) - fields):
        raise ProtocolError(f"{where}: {cls.__name__} has no option {unknown[0]!r} "
                            f"(options: {', '.join(sorted(fields))})")
    method = "released_code" if preset == "code" else preset
    try:
        if preset == "paper":
            options = cls(**top)
        elif isinstance(inspect.getattr_static(cls, method, None), classmethod):
            options = getattr(cls, method)(**top)
        elif solver in registry.baseline_names() and preset in optim.preset_names():
            options = optim.preset(preset, solver, **top)
        else:
            raise ProtocolError(f"{where}: solver {solver!r} has no preset {preset!r}")
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ProtocolError):
            raise
        raise ProtocolError(f"{where}: {exc}") from None
    return apply_options(options, {k: v for k, v in flat.items() if "." in k}, where)


def stage_options(run: RunSpec, k: int) -> Any:
    """The options of stage ``k`` of ``run``: the run's options, then the stage's, then its dataset's."""
    stage = run.stages[k]
    values = {**_flatten(run.options), **_flatten(stage.options), **_flatten(stage.by_dataset.get(run.dataset, {}))}
    return build_options(run.solver, run.preset, values, where=f"{run.name} stage {k + 1}")


def stages_for(run: RunSpec) -> list[Stage] | None:
    """The greedy stages of ``run`` (None when it trains the full network at once)."""
    if not run.stages:
        return None
    return [Stage(s.depth, s.iterations, stage_options(run, k), output_init=s.output_init, handover=s.handover)
            for k, s in enumerate(run.stages)]


def load_data(run: RunSpec, *, data_dir: Any = None, download: bool = True, backend: str = "numpy",
              cache: dict | None = None) -> Dataset:
    """The dataset of ``run`` (its ``[data]`` options), moved to ``backend``; memoised in ``cache``."""
    key = (run.dataset, tuple(sorted(run.data.items())), backend)
    if cache is not None and key in cache:
        return cache[key]
    data = load_dataset(run.dataset, data_dir=data_dir, download=download, **run.data)
    if backend != "numpy":
        data = data.to(backend)
    if cache is not None:
        cache[key] = data
    return data


def problem_for(run: RunSpec, n_features: int, n_classes: int) -> MLP:
    """The network of ``run``: ``(n_features, *hidden, n_classes)`` with its loss (default: the paper's) and
    hidden activation."""
    loss = run.loss or registry.get_solver(run.solver).paper_loss
    return MLP((n_features, *run.hidden, n_classes), loss=loss, activation=run.activation)


def initial_params(run: RunSpec, problem: MLP, data: Dataset, seed: int) -> Params | None:
    """Initial weights for ``init = "bcd-code"`` (the BCD code's recipe); None lets the driver draw them."""
    if run.init != "bcd-code":
        return None
    from ..backend import device, dtype_name, namespace
    from ..solvers.bcd import released_code_init

    x = data.x_train
    net = problem if not run.stages else dataclasses.replace(
        problem, widths=problem.widths[:run.stages[0].depth] + (problem.n_classes,))
    return released_code_init(net, seed, xp=namespace(x), device=device(x), dtype=dtype_name(x))


def check(protocol: Protocol) -> None:
    """Build every run's options (and every stage's) and check datasets, metrics and the paper's numbers.

    Raises
    ------
    ProtocolError
        An unknown solver, option, preset, dataset option or metric; a stage schedule that does not end
        at the full depth; a state hand-over for a solver that cannot carry its state; a paper value that
        no run reports.
    """
    from ..data.loaders import dataset_names

    for run in protocol.runs:
        where = f"{protocol.name}: {run.name}"
        if run.dataset not in dataset_names():
            raise ProtocolError(f"{where}: unknown dataset {run.dataset!r}")
        if bad := sorted(set(run.data) - set(DATA_KEYS)):
            raise ProtocolError(f"{where}: [data] has no option {bad[0]!r} (options: {', '.join(DATA_KEYS)})")
        build_options(run.solver, run.preset, run.options, where)
        for k in range(len(run.stages)):
            stage_options(run, k)
        if any(s.handover == "state" for s in run.stages[1:]) and registry.get_solver(run.solver).carry_state is None:
            raise ProtocolError(f"{where}: {run.solver} cannot hand over its state between stages (no carry_state); "
                                "use handover = 'weights'")
        if run.stages and run.stages[-1].depth != len(run.hidden) + 1:
            raise ProtocolError(f"{where}: the last stage must have the full depth {len(run.hidden) + 1}")
        for m in run.metrics:
            if not _metrics.known(m):
                raise ProtocolError(f"{where}: unknown metric {m!r} ({_metrics.describe()})")
    if protocol.quick:
        return
    for p in protocol.paper:
        if not any(p.dataset == r.dataset and p.metric in r.metrics and (not p.variant or r.variant in p.variant)
                   for r in protocol.runs):
            raise ProtocolError(f"{protocol.name}: paper value {p.metric} on {p.dataset} "
                                f"({', '.join(p.variant) or 'any variant'}) matches no run")
