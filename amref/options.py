"""Options dataclasses: one validator driven by the field annotations, and a table of every option.

Every solver's and baseline's options class is a frozen dataclass that subclasses :class:`Options`.
Its ``__post_init__`` runs :func:`validate`, which reads each field's annotation:

==========================  ==========================================================================
annotation                  accepted values
==========================  ==========================================================================
``float``                   a finite real number, never a bool; stored as a Python ``float`` (so that
                            a float32 array is never promoted by a NumPy float64 scalar)
``int``                     an integer, never a bool; stored as a Python ``int``
``bool``                    ``True`` or ``False``
``Literal[...]``            one of the listed values (the one place the choices are written)
``X | None``                ``None`` or a valid ``X``
an :class:`Options` class   an instance of it (nested options, e.g. ``zl``)
any other class             an instance of it, after the field's ``convert`` (e.g. a grid by name)
==========================  ==========================================================================

Ranges are declared once, next to the field, with :func:`number` (or :func:`positive`,
:func:`nonnegative`, :func:`fraction`); a subclass that only changes a default keeps the range of the
class that declared it. Rules between fields (``band_tol < eps_min``) stay explicit checks in the
class's ``__post_init__`` after ``super().__post_init__()``. Every error is one ``ValueError`` line that
names the field, e.g. ``rho must be a finite number > 0, got True``.

:func:`show_options` lists a solver's options (dotted names for nested ones), their defaults, the values
they accept and the first sentence of their entry in the class's numpydoc ``Attributes`` section.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
import types
import typing
from typing import Any, Callable, Literal, NamedTuple

__all__ = [
    "OptionKeyError",
    "coerce_value",
    "replace_option",
    "Bounds",
    "FieldSpec",
    "check_value",
    "field_specs",
    "parse_attributes",
    "Options",
    "OptionRow",
    "attribute_docs",
    "choices",
    "fraction",
    "nonnegative",
    "number",
    "option_rows",
    "options_table",
    "positive",
    "show_options",
    "validate",
]


class Options:
    """Base of every options dataclass: ``__post_init__`` validates each field from its annotation.

    Subclasses are ``@dataclasses.dataclass(frozen=True)``; one with rules between fields overrides
    ``__post_init__``, calls ``super().__post_init__()`` first and then checks them.
    """

    __slots__ = ()

    def __post_init__(self) -> None:
        validate(self)


# ----------------------------------------------------------------------------- declaring ranges
def number(default: Any, *, low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False, convert: Callable[[Any], Any] | None = None) -> Any:
    """A dataclass field with ``default`` whose value must lie between ``low`` and ``high``.

    Parameters
    ----------
    default
        The field's default.
    low, high
        Bounds (None: unbounded on that side).
    low_open, high_open
        Exclude the bound itself.
    convert
        For a field of a non-numeric class: applied to the value before the ``isinstance`` check
        (e.g. a grid given by name).
    """
    return dataclasses.field(default=default, metadata={"bounds": Bounds(low, high, low_open, high_open),
                                                        "convert": convert})


def positive(default: Any) -> Any:
    """A field that must be ``> 0``."""
    return number(default, low=0.0, low_open=True)


def nonnegative(default: Any) -> Any:
    """A field that must be ``>= 0``."""
    return number(default, low=0.0)


def fraction(default: Any) -> Any:
    """An averaging coefficient β ∈ [0, 1)."""
    return number(default, low=0.0, high=1.0, high_open=True)


class Bounds(NamedTuple):
    """The range of a numeric field."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        """True when ``value`` lies in the range."""
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (value > self.high or (self.high_open and value == self.high))

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        return ""


# ----------------------------------------------------------------------------- what a field accepts
class FieldSpec(NamedTuple):
    """What one field accepts, read from its annotation and metadata."""

    name: str
    kind: type | tuple  # float, int, bool, a class, or the tuple of a Literal's values
    optional: bool
    bounds: Bounds
    convert: Callable[[Any], Any] | None

    def describe(self) -> str:
        """The accepted values in words, e.g. ``"float > 0"``, ``"'fista' | 'newton'"``."""
        if isinstance(self.kind, tuple):
            text = " | ".join(map(repr, self.kind))
        else:
            text = " ".join(filter(None, (self.kind.__name__, str(self.bounds))))
        return f"{text} | None" if self.optional else text


def _metadata(cls: type, name: str, key: str) -> Any:
    """``key`` of field ``name``'s metadata in the nearest class of ``cls``'s MRO that declares it."""
    for klass in cls.__mro__:
        field = getattr(klass, "__dataclass_fields__", {}).get(name)
        if field is not None and field.metadata.get(key) is not None:
            return field.metadata[key]
    return None


def _spec(cls: type, name: str, hint: Any) -> FieldSpec:
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        if len(args) != 1:
            raise TypeError(f"{cls.__name__}.{name}: unsupported annotation {hint!r}")
        hint = args[0]
    if typing.get_origin(hint) is Literal:
        kind: type | tuple = typing.get_args(hint)
        optional = optional or None in kind
        kind = tuple(v for v in kind if v is not None)
    elif isinstance(hint, type):
        kind = hint
    else:
        raise TypeError(f"{cls.__name__}.{name}: unsupported annotation {hint!r}")
    return FieldSpec(name, kind, optional, _metadata(cls, name, "bounds") or Bounds(),
                     _metadata(cls, name, "convert"))


@functools.cache
def field_specs(cls: type) -> tuple[FieldSpec, ...]:
    """The :class:`FieldSpec` of every field of the options dataclass ``cls`` (cached per class)."""
    hints = typing.get_type_hints(cls)
    return tuple(_spec(cls, f.name, hints[f.name]) for f in dataclasses.fields(cls))


def choices(cls: type, name: str) -> tuple:
    """The values the ``Literal`` field ``name`` of ``cls`` accepts (None included when optional)."""
    spec = next(s for s in field_specs(cls) if s.name == name)
    if not isinstance(spec.kind, tuple):
        raise ValueError(f"{cls.__name__}.{name} is not a Literal field")
    return spec.kind + ((None,) if spec.optional else ())


# ----------------------------------------------------------------------------- validation
def check_value(spec: FieldSpec, value: Any) -> Any:
    """``value`` checked against ``spec`` and normalised (ints of float fields become floats).

    Raises
    ------
    ValueError
        One line naming the field, the values it accepts and the value given.
    """
    if value is None and spec.optional:
        return None
    kind = spec.kind
    if spec.convert is not None:
        value = spec.convert(value)
    if isinstance(kind, tuple):
        ok = any(value == c and type(value) is type(c) for c in kind)
        want = "one of " + ", ".join(map(repr, kind))
    elif kind is bool:
        ok, want = isinstance(value, bool), "True or False"
    elif kind is float:
        ok = (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
              and spec.bounds.contains(value))
        want = " ".join(filter(None, ("a finite number", str(spec.bounds))))
        value = float(value) if ok else value
    elif kind is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and spec.bounds.contains(value)
        want = " ".join(filter(None, ("an integer", str(spec.bounds))))
        value = int(value) if ok else value
    else:
        ok, want = isinstance(value, kind), f"a {kind.__name__}"
    if not ok:
        raise ValueError(f"{spec.name} must be {want}{' or None' if spec.optional else ''}, got {value!r}")
    return value


def validate(options: Any) -> None:
    """Check every field of the frozen options dataclass ``options`` in place (see the module docstring).

    Raises
    ------
    ValueError
        At the first invalid field, naming it.
    """
    for spec in field_specs(type(options)):
        value = getattr(options, spec.name)
        checked = check_value(spec, value)
        if checked is not value:
            object.__setattr__(options, spec.name, checked)


# ----------------------------------------------------------------------------- documentation
_SECTION = re.compile(r"^(\w[\w ]*)\n-+$", re.MULTILINE)
_ENTRY = re.compile(r"^(\w+(?:\s*,\s*\w+)*)\s*:")


def _first_sentence(text: str) -> str:
    """``text`` up to its first full stop outside brackets and inline code (all of it when none)."""
    depth, code = 0, False
    for i, ch in enumerate(text):
        if ch == "`":
            code = not code
        elif not code and ch in "([{":
            depth += 1
        elif not code and ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == "." and not code and depth == 0 and (i + 1 == len(text) or text[i + 1].isspace()):
            return text[: i + 1]
    return text


def parse_attributes(doc: str | None) -> dict[str, str]:
    """Field name → first sentence of its description, from a numpydoc ``Attributes`` section.

    An entry ``a, b : float`` documents both names with the same text.
    """
    import inspect

    text = inspect.cleandoc(doc or "")
    headers = list(_SECTION.finditer(text))
    out: dict[str, str] = {}
    for k, header in enumerate(headers):
        if header.group(1).strip() != "Attributes":
            continue
        end = headers[k + 1].start() if k + 1 < len(headers) else len(text)
        names: list[str] = []
        lines: list[str] = []

        def flush() -> None:
            for n in names:
                out[n] = _first_sentence(" ".join(lines))

        for line in text[header.end():end].splitlines():
            entry = _ENTRY.match(line)
            if entry:
                flush()
                names, lines = [n.strip() for n in entry.group(1).split(",")], []
            elif line.strip():
                lines.append(line.strip())
        flush()
    return out


def attribute_docs(cls: type) -> dict[str, str]:
    """Field name → one-line meaning for ``cls``, from the nearest class of its MRO that documents it."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        out.update({k: v for k, v in parse_attributes(klass.__dict__.get("__doc__")).items() if v})
    return out


class OptionRow(NamedTuple):
    """One row of :func:`option_rows`."""

    name: str  # dotted for nested options, e.g. ``zl.fista_step``
    default: Any
    accepts: str
    meaning: str


def option_rows(options: Any, prefix: str = "") -> list[OptionRow]:
    """Every option of the options instance ``options`` (nested :class:`Options` expanded, dotted names)."""
    docs = attribute_docs(type(options))
    rows = []
    for spec in field_specs(type(options)):
        value = getattr(options, spec.name)
        if isinstance(value, Options):
            rows.extend(option_rows(value, f"{prefix}{spec.name}."))
        else:
            rows.append(OptionRow(prefix + spec.name, value, spec.describe(), docs.get(spec.name, "")))
    return rows


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def options_table(options: Any, *, default_width: int = 24, meaning_width: int = 100) -> str:
    """A plain-text table (option, default, accepts, meaning) of ``options``'s fields, with the default's
    repr and the meaning cut to ``default_width`` and ``meaning_width`` characters."""
    rows = [("option", "default", "accepts", "meaning")]
    rows += [(r.name, _short(repr(r.default), default_width), r.accepts, _short(r.meaning, meaning_width))
             for r in option_rows(options)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(row[:3], widths)), row[3]]).rstrip() for row in rows)


def show_options(name: str, *, echo: bool = False) -> str:
    """The options of the solver or baseline ``name``: every option, its default, what it accepts and its
    one-line meaning (taken from the options class's ``Attributes`` docstring section).

    Parameters
    ----------
    name
        A name of :func:`amref.solver_names` (e.g. ``"dladmm"``, ``"adam"``).
    echo
        Also print the table.

    Returns
    -------
    str
        The table, headed by the options class's name.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    from .registry import get_solver

    cls = get_solver(name).options_class
    text = f"{name}: {cls.__module__}.{cls.__qualname__}\n{options_table(cls())}"
    if echo:
        print(text)
    return text


# ----------------------------------------------------------------------------- setting one option by name
class OptionKeyError(ValueError):
    """A dotted option name that the options class does not have (or that has no sub-options)."""


def coerce_value(cls: type, name: str, value: Any) -> Any:
    """Make a JSON or TOML value fit field ``name`` of ``cls`` before validation: ints become floats for
    float fields, integral floats ints for int fields, ``"inf"``/``"nan"`` strings floats for float fields
    (so that the validator names the field when it refuses them), lists tuples."""
    hint = typing.get_type_hints(cls).get(name)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if len(args) == 1 and len(typing.get_args(hint)) == 2:  # ``X | None``: coerce as for X
        hint = args[0]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if hint is float and isinstance(value, str) and value.lower() in ("inf", "infinity", "nan"):
        return float(value)
    if isinstance(value, list):
        return tuple(value)
    return value


def replace_option(options: Any, key: str, value: Any) -> Any:
    """``options`` with the option ``key`` (dotted for nested options, e.g. ``"zl.method"``) set to ``value``
    and validated again.

    Raises
    ------
    OptionKeyError
        For a name the class does not have, or a dotted name below an option without sub-options.
    ValueError
        For a value the option does not take (the validator's one line, naming the field).
    """
    head, _, rest = key.partition(".")
    fields = [f.name for f in dataclasses.fields(options)]
    if head not in fields:
        raise OptionKeyError(f"{type(options).__name__} has no option {head!r} (options: {', '.join(fields)})")
    if rest:
        inner = getattr(options, head)
        if not dataclasses.is_dataclass(inner):
            raise OptionKeyError(f"option {head!r} has no sub-options")
        return dataclasses.replace(options, **{head: replace_option(inner, rest, value)})
    return dataclasses.replace(options, **{head: coerce_value(type(options), head, value)})
