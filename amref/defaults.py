"""The settings a newcomer meets: the ``quickstart`` protocol, :func:`quickstart_run`.

Every solver's options default to its paper's values, which are tuned for MNIST-size problems. On a
small data set some of them fail (dlADMM's ρ = ν = 1e-6 on 1,437 digits: 0.76 test accuracy and a
rising objective). ``amref/protocols/quickstart.toml`` holds, per solver, the settings that work on the
small data set it names (options, iterations, and where needed the loss and hidden widths), each with a
comment saying why it differs from the paper. ``amref train`` uses them when the data set matches and
no ``--preset`` or hyperparameter flag is given, and says so in its banner.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import tomllib
import typing
from typing import Any, Mapping

from .quantize import Grid
from .registry import get_solver

__all__ = ["QuickstartRun", "not_monotone_reason", "quickstart_run", "quickstart_runs"]

#: Why some solvers' objectives are not monotone even with good settings (the banner says so).
_NOT_MONOTONE = {
    "taylor-admm": "Taylor et al.'s ADMM has no descent guarantee once its multiplier step starts "
                   "(after the warm start)",
    "mac": "MAC raises its penalty mu every few iterations, which raises the penalised objective",
}


@dataclasses.dataclass(frozen=True)
class QuickstartRun:
    """One solver's quickstart settings.

    Attributes
    ----------
    solver : str
        Solver name.
    dataset : str
        The data set the settings are for.
    iterations : int
        Iterations (epochs for a gradient baseline).
    options : dict
        Option values by field name, dotted for nested options (``"zl.method"``).
    loss : str or None
        Output loss; None: the solver's paper loss.
    hidden : tuple of int
        Hidden widths.
    """

    solver: str
    dataset: str
    iterations: int
    options: Mapping[str, Any]
    loss: str | None
    hidden: tuple[int, ...]

    def build_options(self) -> Any:
        """The solver's options dataclass: its defaults with :attr:`options` applied (validated)."""
        options = get_solver(self.solver).options_class()
        for key, value in self.options.items():
            options = _set(options, key.split("."), value)
        return options

    def describe(self) -> str:
        """``"rho=0.2, nu=0.2, rho_schedule='constant', 50 iterations"``: what differs from the paper."""
        parts = [f"{k}={_show(v)}" for k, v in self.options.items()]
        if self.loss is not None:
            parts.append(f"loss={self.loss}")
        unit = "iterations" if get_solver(self.solver).constrained else "epochs"
        parts.append(f"{self.iterations} {unit}")
        return ", ".join(parts)


def _show(value: Any) -> str:
    if isinstance(value, Grid):
        return f"uniform({value.start:g}, {value.stop:g}, {value.count})" if value.kind == "uniform" \
            else f"{list(value.values)}"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


def _set(options: Any, path: list[str], value: Any) -> Any:
    """``dataclasses.replace`` along a dotted path, ints widened to floats for float fields."""
    head, rest = path[0], path[1:]
    fields = {f.name for f in dataclasses.fields(options)}
    if head not in fields:
        raise ValueError(f"quickstart: {type(options).__name__} has no option {head!r}")
    if rest:
        return dataclasses.replace(options, **{head: _set(getattr(options, head), rest, value)})
    if typing.get_type_hints(type(options)).get(head) is float and isinstance(value, int) \
            and not isinstance(value, bool):
        value = float(value)
    return dataclasses.replace(options, **{head: value})


def _grid(value: Mapping[str, Any]) -> Grid | None:
    """A grid written as ``{uniform = [start, stop, count]}`` or ``{integers = [low, high]}``; else None."""
    if len(value) == 1 and "uniform" in value:
        return Grid.uniform(*value["uniform"])
    if len(value) == 1 and "integers" in value:
        return Grid.integers(*value["integers"])
    return None


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested option tables → dotted keys (a grid table stays one value)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            grid = _grid(value)
            if grid is None:
                out.update(_flatten(value, name + "."))
                continue
            value = grid
        out[name] = value
    return out


@functools.cache
def quickstart_runs() -> tuple[QuickstartRun, ...]:
    """Every run of ``amref/protocols/quickstart.toml``, in the file's order."""
    text = importlib.resources.files("amref").joinpath("protocols", "quickstart.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    dataset = raw["data"]["dataset"]
    hidden = tuple(raw.get("model", {}).get("hidden", (100, 100)))
    return tuple(
        QuickstartRun(solver=run["solver"], dataset=dataset, iterations=int(run["iterations"]),
                      options=_flatten(run.get("options", {})), loss=run.get("loss"),
                      hidden=tuple(run.get("hidden", hidden)))
        for run in raw["runs"]
    )


def quickstart_run(solver: str, dataset: str) -> QuickstartRun | None:
    """The quickstart settings of ``solver`` on ``dataset``, or None when the protocol has none."""
    for run in quickstart_runs():
        if run.solver == solver and run.dataset == dataset:
            return run
    return None


def not_monotone_reason(run: QuickstartRun) -> str | None:
    """Why ``run``'s objective may rise by design (None when it should not)."""
    if run.solver in _NOT_MONOTONE:
        return _NOT_MONOTONE[run.solver]
    if not get_solver(run.solver).constrained and run.build_options().batch_size is not None:
        return "mini-batch steps need not lower the full training objective every epoch"
    return None
