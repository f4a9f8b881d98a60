"""Docstrings name only files that exist in this repository.

The design notes the code was first written from are not part of the repository, so a docstring that
sends the reader to one of them (or to any other missing file) is a dead end. Every file name a
docstring mentions must exist here, be a dataset file listed in ``amref/data/registry.txt``, or be a file
of another public repository that the same docstring names.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "amref"

# the notes the code was written from, which readers of the repository do not have
NOT_IN_REPO = re.compile(r"\b(algorithms|reference-code|baselines|style)\.md\b|spec README|spec ``README")
FILE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:md|rst|txt|py|ipynb|json|toml|ya?ml|cff|cfg|npz|csv))\b")
# the files ``amref reproduce`` writes into its output folder (named by the docstrings that describe them)
OUTPUTS = {"results.json", "report.md"}
# files of other repositories, each named in a docstring beside its repository
EXTERNAL = {
    "adagradnorm.py": "AdAdaGrad",
    "bcd_dnn_mlp_mnist.ipynb": "timlautk/BCD-for-DNNs-PyTorch",
    "canon/math/soaa.md": "junaidaliop/zij",
    "diffGrad_v2.py": "shivram1987/diffGrad",
    "lion_pytorch.py": "google/automl",
    "src/algorithms/admm.py": "r3kall/ADMM-NeuralNetwork",
}


def docstrings(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield getattr(node, "name", path.stem), doc


SOURCES = sorted(PACKAGE.rglob("*.py"))
REPO_FILES = {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file() and ".git" not in p.parts}
REPO_NAMES = {Path(f).name for f in REPO_FILES}
REGISTRY = (PACKAGE / "data" / "registry.txt").read_text(encoding="utf-8")


def test_sources_found():
    assert len(SOURCES) > 40


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_reference_to_the_design_notes(path):
    # comments included: nothing in the package may send a reader to the notes
    hits = [f"{i}: {line.strip()}" for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if NOT_IN_REPO.search(line)]
    assert not hits, "\n".join(hits)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_file_a_docstring_names_exists(path):
    missing = []
    for name, doc in docstrings(path):
        for m in FILE.finditer(doc):
            ref = m.group(1)
            if ref in REPO_FILES or (path.parent / ref).is_file() or ("/" not in ref and ref in REPO_NAMES):
                continue
            if ref.endswith(".npz") and ref in REGISTRY:
                continue
            if ref.rsplit("/", 1)[-1] in OUTPUTS:  # a file amref writes, not one it reads
                continue
            if ref in EXTERNAL and EXTERNAL[ref] in doc:
                continue
            missing.append(f"{name}: {ref}")
    assert not missing, f"{path.relative_to(ROOT)} names files that are not in the repository: {missing}"


def test_docs_and_examples_do_not_name_the_notes():
    pages = [p for d in ("docs", "examples") for p in (ROOT / d).rglob("*")
             if p.suffix in {".md", ".rst", ".py", ".txt"} and "_build" not in p.parts
             and "generated" not in p.parts and "gallery" not in p.relative_to(ROOT / d).parts[:1]]
    assert len(pages) > 15
    hits = [str(p.relative_to(ROOT)) for p in pages if NOT_IN_REPO.search(p.read_text(encoding="utf-8"))]
    assert not hits, hits


def test_the_checks_catch_a_bad_reference(tmp_path):
    """The two patterns find what they are meant to find (so the tests above can fail)."""
    assert NOT_IN_REPO.search("see ``reference-code.md`` §5")
    assert NOT_IN_REPO.search("as the spec README says")
    assert [m.group(1) for m in FILE.finditer("read ``notes/missing.md`` and tests/test_cli.py")] == [
        "notes/missing.md", "tests/test_cli.py"]
    assert "notes/missing.md" not in REPO_FILES and "tests/test_cli.py" in REPO_FILES


def test_scripts_do_not_name_the_notes():
    """The validation and benchmark scripts are read too: they must not send a reader to the notes either."""
    scripts = [p for d in ("validation", "benchmarks") for p in (ROOT / d).rglob("*.py")]
    assert len(scripts) > 10
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in scripts
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if NOT_IN_REPO.search(line)]
    assert not hits, hits
