"""Datasets: loaders, file resolution and checksums, and the in-memory :class:`Dataset`."""

from .dataset import Dataset


def load_dataset(*args, **kwargs):  # placeholder replaced by the loaders module
    from .loaders import load_dataset as _load

    return _load(*args, **kwargs)


__all__ = ["Dataset", "load_dataset"]
