"""Dataset loaders: one module per dataset, sharing the plumbing in :mod:`.core`."""

from .core import (DataError, DataUnavailableError, ImageSet, announce_synthetic, cache_dir,
                   is_offline, load_image_folder, local_dataset_dir, read_image)
from .satellite import load_satellite, synthetic_tiles

__all__ = [
    "DataError", "DataUnavailableError", "ImageSet", "announce_synthetic", "cache_dir",
    "is_offline", "load_image_folder", "local_dataset_dir", "read_image",
    "load_satellite", "synthetic_tiles",
]

from .cifar10 import load_cifar10  # noqa: E402  (appended by notebook 05)

__all__ += ["load_cifar10"]

from .plantvillage import load_plantvillage  # noqa: E402

__all__ += ["load_plantvillage"]

from .omniglot import load_omniglot  # noqa: E402  (appended by notebook 03)

__all__ += ["load_omniglot"]
