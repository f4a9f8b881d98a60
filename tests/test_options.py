"""The one options validator (amref.options), ``show_options`` and ``amref list --options``.

Every options class reachable from the registry (and every nested options class) is checked: numeric
fields reject bools, NaN and ±inf naming the field, Literal fields reject unknown strings naming the field,
defaults and ``released_code()`` construct, every field is documented.
"""

from __future__ import annotations

import dataclasses
import math
import typing

import numpy as np
import pytest

import amref
from amref import kernels
from amref.cli import main
from amref.options import (Bounds, Options, field_specs, nonnegative, number, option_rows, parse_attributes,
                           positive, show_options)
from amref.quantize import CODE_LEVELS, Grid
from amref.solvers.subproblems import ZLOptions


def _options_classes() -> list[type]:
    found: dict[type, None] = {}
    pending = [amref.get_solver(name).options_class for name in amref.solver_names()]
    while pending:
        cls = pending.pop()
        if cls in found:
            continue
        found[cls] = None
        pending += [s.kind for s in field_specs(cls) if isinstance(s.kind, type) and issubclass(s.kind, Options)]
    return list(found)


CLASSES = _options_classes()
NUMERIC = [(c, s.name) for c in CLASSES for s in field_specs(c) if s.kind in (int, float)]
LITERAL = [(c, s.name) for c in CLASSES for s in field_specs(c) if isinstance(s.kind, tuple)]


def _id(param) -> str:
    return param.__name__ if isinstance(param, type) else str(param)


def test_registry_reaches_every_options_class():
    names = {c.__name__ for c in CLASSES}
    assert {"DlADMMOptions", "MDLAMOptions", "PdADMMGQOptions", "BCDOptions", "TaylorADMMOptions", "ZLOptions",
            "AdamOptions", "LAMBOptions", "AdAdaGradOptions"} <= names
    assert all(issubclass(c, Options) for c in CLASSES)
    assert len(NUMERIC) > 150 and len(LITERAL) > 40


@pytest.mark.parametrize("bad", [True, False, math.nan, math.inf, -math.inf], ids=repr)
@pytest.mark.parametrize("cls, name", NUMERIC, ids=_id)
def test_numeric_fields_reject_bools_nan_and_inf(cls, name, bad):
    with pytest.raises(ValueError, match=rf"^{name} must be "):
        cls(**{name: bad})


@pytest.mark.parametrize("cls, name", LITERAL, ids=_id)
def test_literal_fields_reject_unknown_strings_and_accept_their_choices(cls, name):
    with pytest.raises(ValueError, match=rf"^{name} must be one of .*, got 'no-such-choice'$"):
        cls(**{name: "no-such-choice"})
    for choice in typing.get_args(typing.get_type_hints(cls)[name]):
        if isinstance(choice, str):
            assert getattr(cls(**{name: choice}), name) == choice


@pytest.mark.parametrize("cls", CLASSES, ids=_id)
def test_defaults_and_released_code_construct(cls):
    cls()
    if hasattr(cls, "released_code"):
        cls.released_code()


@pytest.mark.parametrize("cls", CLASSES, ids=_id)
def test_every_field_is_documented_and_str_choices_are_literals(cls):
    rows = option_rows(cls())
    assert [r.name for r in rows if not r.meaning] == []
    assert [s.name for s in field_specs(cls) if s.kind is str] == []  # choices come from Literal annotations


def test_no_solver_option_is_a_run_time_knob():
    for cls in CLASSES:
        assert not {"jit", "threads"} & {f.name for f in dataclasses.fields(cls)}, cls.__name__


# ----------------------------------------------------------------------------- the validator itself
@dataclasses.dataclass(frozen=True)
class Toy(Options):
    """A toy.

    Attributes
    ----------
    x : float
        Positive.
    n : int
        Count.
    """

    x: float = positive(1.0)
    n: int = number(1, low=1, high=3, high_open=True)
    beta: float = number(0.5, low=0.0, high=1.0, high_open=True)
    cap: float | None = nonnegative(None)
    mode: typing.Literal["a", "b"] | None = "a"
    flag: bool = False
    zl: ZLOptions = ZLOptions()
    levels: Grid = number(CODE_LEVELS, convert=amref.quantize.as_grid)


@dataclasses.dataclass(frozen=True)
class ToyChild(Toy):
    x: float = 2.0  # only the default changes: the range is Toy's


def test_ranges_open_and_closed_ends():
    assert Toy(n=1, beta=0.0, cap=0.0).cap == 0.0
    for kwargs, message in [
        (dict(x=0.0), "x must be a finite number > 0, got 0.0"),
        (dict(x=True), "x must be a finite number > 0, got True"),
        (dict(n=3), "n must be an integer in [1, 3), got 3"),
        (dict(n=0), "n must be an integer in [1, 3), got 0"),
        (dict(n=2.0), "n must be an integer in [1, 3), got 2.0"),
        (dict(beta=1.0), "beta must be a finite number in [0, 1), got 1.0"),
        (dict(cap=-1e-300), "cap must be a finite number >= 0 or None, got -1e-300"),
        (dict(mode="c"), "mode must be one of 'a', 'b' or None, got 'c'"),
        (dict(flag=1), "flag must be True or False, got 1"),
        (dict(flag=np.bool_(True)), "flag must be True or False, got np.True_"),
        (dict(zl="newton"), "zl must be a ZLOptions, got 'newton'"),
    ]:
        with pytest.raises(ValueError) as info:
            Toy(**kwargs)
        assert str(info.value) == message


def test_subclass_that_changes_a_default_keeps_the_range():
    assert ToyChild().x == 2.0
    with pytest.raises(ValueError, match="^x must be a finite number > 0"):
        ToyChild(x=-1.0)


def test_values_are_normalised_to_python_scalars():
    t = Toy(x=3, n=np.int64(2), beta=np.float32(0.25), cap=np.float64(1.5), mode=None, levels="paper")
    assert type(t.x) is float and type(t.n) is int and type(t.beta) is float and type(t.cap) is float
    assert t.mode is None and t.levels == amref.quantize.PAPER_LEVELS
    # a Python float never promotes a float32 array; the NumPy float64 it replaced does under NumPy < 2
    assert (t.cap * np.ones(2, dtype=np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="^levels"):
        Toy(levels="no-such-grid")


def test_bounds_text():
    assert str(Bounds(0.0, None, True)) == "> 0" and str(Bounds(1, None)) == ">= 1"
    assert str(Bounds(None, 0.5, False, True)) == "< 0.5" and str(Bounds(0, 0.5, True, True)) == "in (0, 0.5)"


def test_cross_field_rules_stay_explicit():
    from amref.optim.lamb import LAMBOptions
    from amref.optim.sgd import SGDOptions
    from amref.solvers.mdlam import MDLAMOptions

    with pytest.raises(ValueError, match="^band_tol"):
        MDLAMOptions(eps_min=1e-3, band_tol=1e-3)
    with pytest.raises(ValueError, match="^norm_clip_max"):
        LAMBOptions(norm_clip_min=1.0, norm_clip_max=1.0)
    with pytest.raises(ValueError, match="nesterov"):
        SGDOptions(nesterov=True)
    with pytest.raises(ValueError, match="^weight_decay_style"):
        SGDOptions(weight_decay_style="direction")  # LARS/LAMB only
    assert LAMBOptions(weight_decay_style="direction").weight_decay_style == "direction"


# ----------------------------------------------------------------------------- documentation and tables
DOC = """Summary.

    Attributes
    ----------
    a, b : float
        First (see e.g. this). Second sentence.
    c : {"x", "y"}
        Spans
        two lines (no stop. inside brackets) and ``a.b`` code. Then more.
    d : int

    Notes
    -----
    e : float
        Not an attribute.
    """


def test_parse_attributes():
    assert parse_attributes(DOC) == {
        "a": "First (see e.g. this).",
        "b": "First (see e.g. this).",
        "c": "Spans two lines (no stop. inside brackets) and ``a.b`` code.",
        "d": "",
    }
    assert parse_attributes(None) == {}


def test_show_options_lists_every_option_with_its_default(capsys):
    from amref.solvers.dladmm import DlADMMOptions

    text = show_options("dladmm")
    assert capsys.readouterr().out == ""
    rows = option_rows(DlADMMOptions())
    names = [r.name for r in rows]
    expected = []  # the fields in order, the nested zl flattened where it stands
    for f in dataclasses.fields(DlADMMOptions):
        expected += [f"zl.{g.name}" for g in dataclasses.fields(ZLOptions)] if f.name == "zl" else [f.name]
    assert names == expected
    assert {r.name: r.default for r in rows}["rho"] == 1e-6
    assert {r.name: r.default for r in rows}["zl.fista_step"] == ZLOptions().fista_step
    assert {r.name: r.meaning for r in rows}["rho"] == "Initial ρ (paper: 1e-6)."
    lines = text.splitlines()
    assert lines[0] == "dladmm: amref.solvers.dladmm.DlADMMOptions" and len(lines) == len(rows) + 2
    assert lines[2].split()[:3] == ["rho", "1e-06", "float"]
    # nested defaults are the instance's: BCD solves z_L by Newton
    assert {r.name: r.default for r in option_rows(amref.get_solver("bcd").options_class())}["zl.method"] == "newton"
    assert show_options("adam", echo=True) + "\n" == capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown solver"):
        show_options("nope")


def test_cli_list_options(capsys):
    assert main(["list", "--options", "pdadmm-g-q"]) == 0
    assert capsys.readouterr().out == show_options("pdadmm-g-q") + "\n"
    assert main(["list", "--options", "nope"]) == 2
    assert "unknown solver 'nope'" in capsys.readouterr().err


def test_cli_no_jit_runs_under_use_jit_false(monkeypatch):
    seen = []
    from amref.parallel import recovery

    real = recovery.minimize

    def spy(*args, **kwargs):
        seen.append(kernels.jit_setting())
        return real(*args, **kwargs)

    monkeypatch.setattr(recovery, "minimize", spy)  # the command line runs minimize_with_restores
    assert main(["train", "--iters", "1", "--hidden", "8", "--quiet", "--no-jit"]) == 0
    assert main(["train", "--iters", "1", "--hidden", "8", "--quiet"]) == 0
    assert seen == [False, None] and kernels.jit_setting() is None


def test_replace_option_sets_nested_options_and_coerces_json_values():
    from amref.options import OptionKeyError, replace_option
    from amref.solvers.dladmm import DlADMMOptions

    opts = replace_option(DlADMMOptions(), "zl.method", "newton")
    assert opts.zl.method == "newton" and DlADMMOptions().zl.method != "newton"
    rho = replace_option(DlADMMOptions(), "rho", 2).rho
    assert rho == 2.0 and type(rho) is float  # an int from JSON becomes the float the field holds
    assert replace_option(DlADMMOptions(), "max_doublings", 7.0).max_doublings == 7
    with pytest.raises(OptionKeyError, match="has no option 'nope'"):
        replace_option(DlADMMOptions(), "nope", 1)
    with pytest.raises(OptionKeyError, match="'rho' has no sub-options"):
        replace_option(DlADMMOptions(), "rho.x", 1)
    with pytest.raises(ValueError, match="^rho must be"):
        replace_option(DlADMMOptions(), "rho", "inf")  # the validator names the field
