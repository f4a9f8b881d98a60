"""The built documentation in a real browser: math rendered offline, every internal link resolving.

These tests read the site that ``python -m sphinx -b html docs docs/_build/html`` writes (or the folder in
``AMREF_DOCS_SITE``) and are skipped when it has not been built. The math check drives headless Chromium
(the Debian package ``chromium``) and is skipped when no Chromium is installed. CI builds the site and then
runs this file explicitly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("AMREF_DOCS_SITE", ROOT / "docs" / "_build" / "html"))

pytestmark = pytest.mark.skipif(not (SITE / "index.html").is_file(),
                                reason=f"documentation not built at {SITE}")

# pages whose math must render: every paper page and every optimizer family page
MATH_PAGES = sorted(str(p.relative_to(SITE)) for d in ("papers", "optimizers") for p in (SITE / d).glob("*.html")
                    if p.name != "index.html") if (SITE / "papers").is_dir() else []


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(page: Path) -> str:
    """The page's DOM after its scripts ran, from headless Chromium (no network is needed)."""
    exe = chromium()
    if exe is None:
        pytest.skip("no chromium executable (apt-get install chromium)")
    cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--virtual-time-budget=20000", "--dump-dom", page.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def visible_text(html: str) -> str:
    """Text outside <script>, <style>, <pre> and <code> (where TeX source may legitimately appear)."""
    html = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return re.sub(r"<[^>]+>", " ", html)


def test_math_pages_found():
    assert len(MATH_PAGES) >= 10, MATH_PAGES


@pytest.mark.parametrize("page", MATH_PAGES)
def test_math_renders(page):
    source = (SITE / page).read_text(encoding="utf-8")
    n_math = len(re.findall(r'class="math', source))
    assert n_math > 0, f"{page} has no math"
    dom = render(SITE / page)
    rendered = len(re.findall(r"<mjx-container\b", dom))
    # every math node the page holds is typeset (a display block may hold several containers)
    assert rendered >= n_math, f"{page}: {rendered} MathJax containers for {n_math} math nodes"
    text = visible_text(dom)
    for raw in ("\\(", "\\)", "\\[", "\\]", "$$"):
        assert raw not in text, f"{page}: raw TeX delimiter {raw!r} left on the page"
    assert "math input error" not in dom.lower()
    assert 'data-mjx-error' not in dom, f"{page}: MathJax reported a TeX error"


def test_mathjax_is_bundled_not_fetched():
    """The pages load MathJax (and every other script and style sheet) from the site itself."""
    assert (SITE / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for page in SITE.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', html)
        remote = [u for u in remote if 'rel="' not in u]
        assert not remote, f"{page.relative_to(SITE)} loads {remote}"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a and a["id"]:
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if tag in ("a", "img", "script", "link") and a.get(key):
                self.hrefs.append(a[key])


def _parse(page: Path, cache: dict) -> _Links:
    if page not in cache:
        p = _Links()
        p.feed(page.read_text(encoding="utf-8"))
        cache[page] = p
    return cache[page]


def test_every_internal_link_resolves():
    cache: dict = {}
    pages = sorted(p for p in SITE.rglob("*.html") if "_static" not in p.relative_to(SITE).parts)
    assert len(pages) > 20
    broken = []
    for page in pages:
        for href in _parse(page, cache).hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(SITE)} -> {href}")
                continue
            if parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in _parse(target, cache).ids:
                    broken.append(f"{page.relative_to(SITE)} -> {href} (no such anchor)")
    assert not broken, "\n".join(broken[:40])


def test_entry_points_exist():
    for page in ("index.html", "papers/dladmm.html", "optimizers/adam.html", "api/index.html", "cli.html",
                 "gallery/index.html", "guides/new_solver.html", "changelog.html"):
        assert (SITE / page).is_file(), page
    cli = (SITE / "cli.html").read_text(encoding="utf-8")
    assert "--solver" in cli and "--preset" in cli  # generated from the parser
