"""Sphinx configuration for the amref documentation.

Build (from the repository root, after ``pip install ".[docs]"``)::

    python -m sphinx -W -b html docs docs/_build/html

Math is rendered by a MathJax copy bundled with ``sphinx-mathjax-offline``: the built site needs no
network.  The API reference is generated from the package at build time (autosummary + autodoc, which
follow each module's ``__all__``); the CLI reference from ``amref.cli.build_parser``; the gallery by
running the scripts in ``examples/``.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document this checkout, not an installed copy

os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")

import amref  # noqa: E402
import types  # noqa: E402

# autosummary imports every submodule while it walks the package; importing amref.__main__ would run the
# command line with Sphinx's arguments, so a stand-in takes its place.
sys.modules.setdefault("amref.__main__", types.ModuleType("amref.__main__"))

project = "amref"
author = "amref developers"
copyright = "amref developers, MIT licence"
version = release = amref.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
    "sphinx-mathjax-offline",  # bundles MathJax 3 and points mathjax_path at the copy (no CDN)
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "gallery/*.ipynb", "gallery/*.py", "gallery/*.zip",
                    "gallery/*.md5", "gallery/*.json"]
templates_path = ["_templates"]
nitpicky = False
# The API pages document objects under their defining module and again under the package that re-exports
# them (amref.MLP and amref.problem.MLP); the resulting "more than one target" notes are expected.
suppress_warnings = ["ref.python", "myst.header", "autosummary.import_cycle"]

# ----------------------------------------------------------------------------- MyST
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# ----------------------------------------------------------------------------- API
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"          # numpydoc sections carry the types; signatures stay short
autoclass_content = "class"
autodoc_mock_imports = ["cupy", "numba"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()   # other modules' docstrings are not all complete numpydoc
numpydoc_xref_param_type = False
add_module_names = False
intersphinx_mapping: dict = {}      # offline build: no inventories fetched

# ----------------------------------------------------------------------------- gallery
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "gallery",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "write_computation_times": False,   # that page loads its table scripts from a CDN
    "plot_gallery": "True",
}

# ----------------------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"amref {release}"
html_static_path = ["_static"]
html_css_files = ["amref.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_context = {"default_mode": "light"}
mathjax3_config = {"tex": {"macros": {"R": r"\mathbb{R}", "relu": r"\operatorname{relu}"}}}


# ----------------------------------------------------------------------------- docstring bars
# The docstrings write |x| for an absolute value or a set size (|Δ|, |g|), which reStructuredText reads as a
# substitution reference.  The project uses no substitutions, so each such name gets a definition that
# prints it back with its bars, once per page.  (Escaping in place would shift the columns of simple tables.)
import re  # noqa: E402

_BAR = re.compile(r"(?<![\w|`\\])\|([^|`\s][^|`]*?)\|(?![\w|])")
_DEFINED: dict[str, set[str]] = {}


def _define_bar_substitutions(app, what, name, obj, options, lines):
    docname = app.env.docname
    done = _DEFINED.setdefault(docname, set())
    found = []
    for line in lines:
        if line.lstrip().startswith((">>>", "...")):
            continue
        for m in _BAR.finditer(line):
            key = " ".join(m.group(1).split())
            if key not in done:
                done.add(key)
                found.append(key)
    if found:
        lines.append("")
        lines.extend(f".. |{key}| replace:: \\|{key}\\|" for key in found)
        lines.append("")


def _reset_bars(app, env, docnames):
    for d in docnames:
        _DEFINED.pop(d, None)


def _drop_sourceless_modules(app):
    # viewcode lists a module for every documented object; an object whose __module__ is "builtins"
    # (a type alias) would get an index entry pointing to a page viewcode cannot write.
    modules = getattr(app.env, "_viewcode_modules", {})
    for name in [m for m in modules if m.split(".")[0] != "amref"]:
        del modules[name]
    return []


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out what a class inherits from scikit-learn's metadata routing (``set_fit_request`` …): its
    docstrings point into scikit-learn's own documentation, and amref adds nothing to them."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("html-collect-pages", _drop_sourceless_modules, priority=100)
    app.connect("autodoc-process-docstring", _define_bar_substitutions, priority=900)
    app.connect("env-before-read-docs", _reset_bars)
