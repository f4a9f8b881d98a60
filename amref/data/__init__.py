"""Datasets: loaders, file resolution and checksums, and the in-memory :class:`Dataset`.

See :mod:`amref.data.loaders` for the dataset names, the data directory layout and ``AMREF_DATA_DIR``.
"""

from .dataset import Dataset, check_xy, one_hot
from .files import DataError
from .graph_files import load_graph
from .loaders import dataset_names, load_dataset

__all__ = ["DataError", "Dataset", "check_xy", "dataset_names", "load_dataset", "load_graph", "one_hot"]
