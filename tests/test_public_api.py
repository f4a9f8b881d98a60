"""The public API: one registry of solvers, every module reachable after ``import amref``, an ``__all__``
in every module that names what exists, the curated ``amref.__all__`` as the docs list it, and the
import layering (data below problem, nothing below the driver imports it)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pathlib
import re
import subprocess
import sys

import pytest

import amref
from amref import optim, registry

ROOT = pathlib.Path(amref.__file__).parent
REPO = ROOT.parent
MODULES = sorted(
    ".".join(("amref",) + p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in ROOT.rglob("*.py")
)
OPTIONAL = {"amref.parallel.dask": "distributed", "amref.kernels.numba_cpu": "numba",
            "amref.kernels.numba_optim": "numba"}


# ----------------------------------------------------------------------------- the registry
def test_registry_holds_every_solver_once_under_its_own_name():
    assert registry.solver_names() == registry.am_solver_names() + registry.baseline_names()
    assert len(set(registry.solver_names())) == len(registry.solver_names())
    assert registry.am_solver_names() == ["dladmm", "taylor-admm", "bcd", "mac", "mdlam", "pdadmm", "pdadmm-g",
                                          "pdadmm-g-q"]
    assert registry.baseline_names() == [b.name for b in optim.BASELINES]
    for name in registry.solver_names():
        spec = amref.get_solver(name)
        assert isinstance(spec, amref.SolverSpec) and spec.name == name
    assert amref.get_solver("dladmm") is amref.solvers.dladmm.SOLVER
    assert amref.get_solver("pdadmm-g-q") is amref.solvers.pdadmm_g.SOLVER_Q
    assert amref.get_solver("adamw").options_class is amref.optim.adam.AdamWOptions


def test_unknown_solver_is_one_line_listing_both_kinds():
    with pytest.raises(ValueError, match=r"unknown solver 'adamax'.*dladmm.*adam") as info:
        amref.get_solver("adamax")
    assert "\n" not in str(info.value)


def test_a_name_registered_twice_is_refused():
    twice = dataclasses.replace(amref.get_solver("adam"), name="dladmm")
    with pytest.raises(ValueError, match="'dladmm' is registered twice"):
        registry._by_name(registry.AM_SOLVERS + (twice,))


def test_only_the_layer_parallel_solvers_declare_layer_functions():
    parallel = [n for n in registry.solver_names() if amref.get_solver(n).layer_functions is not None]
    assert parallel == ["pdadmm", "pdadmm-g", "pdadmm-g-q"]


# ----------------------------------------------------------------------------- reachability
def test_import_amref_reaches_every_solver_and_optimizer_module():
    """In a fresh interpreter (this one has imported them already), attribute access alone."""
    code = ("import amref; "
            "[getattr(amref.solvers, m) for m in amref.solvers.__all__]; "
            "[getattr(amref.optim, m) for m in amref.optim.__all__]; "
            "print(amref.solvers.dladmm.SOLVER.name, amref.solvers.pdadmm_g.SOLVER_G.name, "
            "amref.optim.adam.AdamOptions.__name__, amref.solvers.greedy.train_greedy.__name__, "
            "amref.data.loaders.load_dataset.__name__, amref.parallel.serial.SerialRunner.__name__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["dladmm", "pdadmm-g", "AdamOptions", "train_greedy", "load_dataset",
                                  "SerialRunner"]


# ----------------------------------------------------------------------------- __all__
def _import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if name in OPTIONAL and OPTIONAL[name] in str(exc):
            pytest.skip(f"{name} needs {OPTIONAL[name]}")
        raise


def _defined_public_names(module) -> set[str]:
    """Functions, classes and assignments at the top of the module's source whose names lack ``_``."""
    tree = ast.parse(pathlib.Path(module.__file__).read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("name", [m for m in MODULES if m != "amref.__main__"])
def test_every_module_lists_what_exists_and_everything_public(name):
    module = _import(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    listed = list(module.__all__)
    assert len(listed) == len(set(listed)), f"{name}.__all__ repeats a name"
    for attr in listed:
        try:
            getattr(module, attr)
        except ImportError:  # a lazily imported optional dependency (the dask runner)
            continue
    missing = _defined_public_names(module) - set(listed)
    assert not missing, f"{name}: public names not in __all__ (list them, or start them with _): {sorted(missing)}"


def test_main_module_has_an_empty_all():
    tree = ast.parse((ROOT / "__main__.py").read_text())
    assigned = [n for n in tree.body if isinstance(n, ast.AnnAssign) and n.target.id == "__all__"]
    assert assigned and ast.literal_eval(assigned[0].value) == []


def test_curated_api_is_what_the_readme_lists():
    """The README's list between the ``public-api`` markers names exactly ``amref.__all__``."""
    section = re.search(r"<!-- public-api -->(.*?)<!-- /public-api -->", (REPO / "README.md").read_text(), re.S)
    assert section, "README.md has no public API list"
    documented = re.findall(r"`([A-Za-z_]+)`", section.group(1))
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(amref.__all__)


def test_contributing_layout_names_every_public_module():
    text = (REPO / "CONTRIBUTING.md").read_text()
    layout = text[text.index("## Layout"):text.index("## Conventions")]
    for name in amref.__all__:
        if isinstance(getattr(amref, name), type(amref)):
            assert re.search(rf"`amref/{name}(\.py|/)`", layout), f"CONTRIBUTING's layout lacks amref/{name}"


# ----------------------------------------------------------------------------- layering
def _amref_imports(path: pathlib.Path) -> set[str]:
    """Absolute names of the amref modules ``path`` imports (relative imports resolved)."""
    package = ".".join(("amref",) + path.relative_to(ROOT).parent.parts)
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m == "amref" or m.startswith("amref.")}


def test_data_does_not_import_problem_or_anything_above_it():
    above = ("amref.problem", "amref.contract", "amref.driver", "amref.solvers", "amref.optim", "amref.registry")
    for path in (ROOT / "data").glob("*.py"):
        bad = [m for m in _amref_imports(path) if m.startswith(above)]
        assert not bad, f"{path.name} imports {bad}"


def test_only_the_layers_above_the_driver_import_it():
    above = {"__init__.py", "cli.py", "parallel/recovery.py", "solvers/greedy.py", "protocols/runner.py", "sklearn.py"}
    importers = {str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py") if "amref.driver" in _amref_imports(p)}
    assert importers <= above, importers - above
    assert "solvers/greedy.py" in importers  # the check sees relative imports


def test_the_package_holds_no_benchmark_instrumentation():
    for path in ROOT.rglob("*.py"):
        assert not re.search(r"\b(MatrixProduct|matrix_products|matrix_product_flops)\b", path.read_text()), path
