"""The course's one pair-label convention: ``SIMILAR = 1``, ``DISSIMILAR = 0``.

A pair's label answers the question every notebook asks of it, "is this a match?" (one tile, one
leaf class, one character, one kind of picture), so the labels feed binary cross-entropy, ROC curves
and precision/recall as they are. The satellite seed labels the other way round (0 = similar, like
a target distance); notebook 01 shows the seed's labels once, with :func:`to_seed`.
"""

from __future__ import annotations

import numpy as np

SIMILAR = 1
DISSIMILAR = 0
NAMES = {SIMILAR: "similar", DISSIMILAR: "dissimilar"}


def to_seed(labels: np.ndarray) -> np.ndarray:
    """Return ``labels`` in the satellite seed's convention (0 similar, 1 dissimilar)."""
    labels = np.asarray(labels)
    unknown = set(np.unique(labels).tolist()) - {SIMILAR, DISSIMILAR}
    if unknown:
        raise ValueError(f"pair labels must be {SIMILAR} (similar) or {DISSIMILAR} (dissimilar), "
                         f"got {sorted(unknown)}")
    return (labels == DISSIMILAR).astype(labels.dtype)
