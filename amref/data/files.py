"""Finding dataset files on disk, verifying them by sha256, and downloading missing ones with pooch.

Every loader gets its files through :func:`fetch`, so the rules live in one place:

1. **Where**: the data directory is the ``data_dir`` argument, else the ``AMREF_DATA_DIR`` environment
   variable, else the user cache ``pooch.os_cache("amref")`` (:func:`data_home`). A file is looked up as
   ``<data directory>/<dataset>/<file>``, e.g. ``mnist/train-images-idx3-ubyte.gz``.
2. **What**: ``registry.txt`` (next to this module) lists every known file with its sha256 and canonical
   URL. A file found on disk is verified against that sha256 on every load.
3. **Missing**: with ``download=True`` the file is downloaded with pooch into the data directory; pooch
   writes to a temporary file and moves it into place only when the sha256 matches, so a failed or
   mismatching download leaves nothing behind. With ``download=False`` a missing file is an error.

All problems raise :class:`DataError` with a one-line message (the CLI prints it as is).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
from collections.abc import Mapping
from importlib import resources

__all__ = ["ENV_VAR", "REGISTRY", "data_home", "DataError", "fetch", "FileEntry", "read_registry", "sha256sum",
           "sklearn_dataset"]

ENV_VAR = "AMREF_DATA_DIR"
"""Environment variable naming the data directory."""


class DataError(ValueError):
    """A dataset file is missing, corrupt, of the wrong format, or a loader option is invalid."""


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One registered file: its sha256 (hex) and the canonical URL it is downloaded from."""

    sha256: str
    url: str


def read_registry(text: str) -> dict[str, FileEntry]:
    """Parse registry lines ``<dataset>/<file> <sha256> <url>`` (blank lines and ``#`` comments skipped)."""
    registry = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 3 or len(fields[1]) != 64:
            raise DataError(f"registry line {number} must read '<dataset>/<file> <sha256> <url>', got {line!r}")
        registry[fields[0]] = FileEntry(fields[1].lower(), fields[2])
    return registry


REGISTRY: dict[str, FileEntry] = read_registry(resources.files(__package__).joinpath("registry.txt").read_text())
"""The packaged registry: ``"<dataset>/<file>"`` → :class:`FileEntry`."""


def data_home(data_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """The data directory: ``data_dir``, else ``$AMREF_DATA_DIR``, else ``pooch.os_cache("amref")``.

    Parameters
    ----------
    data_dir : path-like, optional
        Explicit directory; takes precedence over the environment variable.

    Returns
    -------
    pathlib.Path
        The directory (not created here; it need not exist yet).
    """
    if data_dir is not None:
        return pathlib.Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return pathlib.Path(env).expanduser()
    import pooch

    return pathlib.Path(pooch.os_cache("amref"))


def _where(data_dir: str | os.PathLike | None) -> str:
    """How the data directory was chosen (for error messages)."""
    if data_dir is not None:
        return "the data_dir argument"
    return f"${ENV_VAR}" if os.environ.get(ENV_VAR) else f"the user cache (set ${ENV_VAR} to use another directory)"


def sha256sum(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def fetch(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    registry: Mapping[str, FileEntry] | None = None,
) -> pathlib.Path:
    """Path of a verified local copy of a registered file, downloading it if needed and allowed.

    Parameters
    ----------
    name : str
        Registry key ``"<dataset>/<file>"``, e.g. ``"cora/ind.cora.x"``.
    data_dir : path-like, optional
        Data directory (see :func:`data_home` for the fallbacks).
    download : bool
        Download a missing file from its registered URL (default). ``False`` makes a missing file an error.
    registry : mapping, optional
        Registry to use instead of the packaged :data:`REGISTRY` (tests).

    Returns
    -------
    pathlib.Path
        ``<data directory>/<name>``, whose sha256 matches the registry.

    Raises
    ------
    DataError
        If the name is not registered, the file is missing and ``download=False``, the file on disk or the
        download does not match its sha256, or the download fails.
    """
    registry = REGISTRY if registry is None else registry
    if name not in registry:
        raise DataError(f"no file {name!r} in the data registry")
    entry = registry[name]
    root = data_home(data_dir)
    path = root / name
    if path.is_file():
        actual = sha256sum(path)
        if actual != entry.sha256:
            raise DataError(
                f"{path} does not match its registered checksum (sha256 {actual}, expected {entry.sha256}): "
                f"the file is corrupt or not the original; delete it and load again to download a fresh copy "
                f"from {entry.url}"
            )
        return path
    if not download:
        raise DataError(
            f"{name} is not in the data directory {root} (from {_where(data_dir)}) and download=False; "
            f"put the original file there (from {entry.url}, sha256 {entry.sha256}) or allow the download"
        )
    import pooch

    try:
        pooch.retrieve(entry.url, known_hash=f"sha256:{entry.sha256}", fname=path.name, path=path.parent,
                       progressbar=False)
    except ValueError as exc:  # pooch's checksum mismatch; it has already deleted the download
        raise DataError(
            f"download of {name} from {entry.url} was rejected, nothing was saved: {_one_line(exc)}") from exc
    except Exception as exc:  # network, HTTP status, permissions: any of them means no file
        raise DataError(f"could not download {name} from {entry.url} into {root}: {_one_line(exc)}") from exc
    return path


def sklearn_dataset(name: str) -> tuple:
    """``(loader, train_test_split)`` for the data set scikit-learn ships as ``sklearn.datasets.load_<name>``.

    Raises
    ------
    ImportError
        Without scikit-learn, in one line naming the extra to install.
    """
    try:
        from sklearn import datasets
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise ImportError(f'the {name} dataset ships with scikit-learn: pip install "amref[sklearn]"') from None
    return getattr(datasets, f"load_{name}"), train_test_split
