"""The iteration table a run prints: ``amref train`` and ``minimize(..., verbose=True)`` share it.

An OSQP-style table (one row every ``every`` iterations, the first and the last) written above a tqdm
progress bar on stderr; the bar switches itself off when stderr is not a terminal. An instance is a
callback for :func:`amref.minimize`: it reads only the history row, never the weights.
"""

from __future__ import annotations

import math
import sys
from typing import Any, TextIO

__all__ = ["ProgressTable"]


class ProgressTable:
    """Print a banner, a header and every ``every``-th history row; drive a progress bar.

    Parameters
    ----------
    total : int
        Iterations expected (for the bar and the last row).
    every : int, optional
        Row period (default: about ten rows).
    banner : str, optional
        First line printed (what runs on what).
    file : text stream
        Where the table goes (default ``sys.stdout``).
    bar : bool
        Show a tqdm bar on stderr (when it is a terminal).
    regression : bool
        Head the accuracy columns "train R²" / "test R²" (they show R² whenever a row has ``train_r2``).
    """

    COLUMNS = (("iter", 6, "iteration", "d"), ("objective", 12, "objective", ".5e"),
               ("residual", 11, "residual", ".3e"), ("train acc", 9, "train_accuracy", ".4f"),
               ("test acc", 9, "test_accuracy", ".4f"), ("sec/it", 8, "seconds", ".3f"))

    def __init__(self, total: int, *, every: int | None = None, banner: str | None = None,
                 file: TextIO | None = None, bar: bool = True, regression: bool = False):
        self.total = total
        self.every = every or max(1, total // 10)
        self.file = sys.stdout if file is None else file
        if banner:
            print(banner, file=self.file)
        names = [name.replace("acc", "R²") if regression else name for name, _, _, _ in self.COLUMNS]
        print(" ".join(f"{name:>{w}}" for name, (_, w, _, _) in zip(names, self.COLUMNS)), file=self.file, flush=True)
        self.bar = None
        if bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="it", dynamic_ncols=True, file=sys.stderr, leave=False, disable=None)

    def set_total(self, total: int) -> None:
        """Change the number of iterations expected (greedy training adds up its stages)."""
        self.total = total
        if self.bar is not None:
            self.bar.total = total

    def format_row(self, row: dict) -> str:
        """One table line; a column the row lacks (or holds NaN for) is shown as ``-``. A regression row
        (``train_r2``) shows R² in the accuracy columns."""
        cells = []
        for _, w, key, fmt in self.COLUMNS:
            if key.endswith("_accuracy") and key.replace("_accuracy", "_r2") in row:
                key = key.replace("_accuracy", "_r2")
            v = row.get(key, math.nan)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                cells.append(f"{'-':>{w}}")
            else:
                cells.append(f"{int(v):>{w}d}" if fmt == "d" else f"{v:>{w}{fmt}}")
        return " ".join(cells)

    def write(self, line: str) -> None:
        """Print ``line`` above the bar."""
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line, file=self.file)
        else:
            print(line, file=self.file, flush=True)

    def __call__(self, info: Any) -> None:
        if self.bar is not None:
            self.bar.update(1)
        n = info.iteration
        if n % self.every == 0 or n == self.total or n == 1:
            self.write(self.format_row(info.row))

    def close(self) -> None:
        """Remove the bar."""
        if self.bar is not None:
            self.bar.close()
