"""Augmentation by fresh views: new random-angle (optionally hard) views of the tiles every epoch.

A fixed set of views shows each tile at the same few angles in every epoch, so a model can learn
those angles. :class:`FreshPairs` cuts new views (``pairs.make_views``) and draws new balanced pairs
(``pairs.make_pairs``) at the start of every epoch, from the tiles themselves, so no pixel leaves
the tile and no blank corner appears. Batches are uint8, as from ``pairs.pair_dataset``.
"""

from __future__ import annotations

import keras
import numpy as np

from . import pairs
from .checkpoints import EpochSource


class FreshPairs(keras.utils.PyDataset):
    """Pair batches ``((left, right), label)`` of ``tiles``, with new views and pairs each epoch.

    ``fresh=False`` keeps the first epoch's views and pairs for good (the no-augmentation control).
    ``hard=True`` makes every rotated view a ``pairs.hard_view``. ``batches_per_epoch`` fixes the
    length of an epoch whatever the number of tiles (default: one pass over the pairs); pairs are
    then read cyclically, and fixed pairs continue where the last epoch stopped. Labels: 1
    similar, 0 dissimilar (:mod:`course_utils.labels`). With a ``clock`` (a
    ``checkpoints.EpochClock`` passed to ``fit`` as a callback too) each epoch's views and pairs, or
    where the fixed pairs start, follow from the epoch ``fit`` is in alone, so a resumed ``fit``
    sees the batches an uninterrupted one would have; every
    ``fit`` then starts at the first fixed pair.

    Raises:
        ValueError: fewer than 2 tiles, a batch size or epoch length below 1, or tiles too small
            for ``size``.
    """

    def __init__(self, tiles: np.ndarray, size: int, batch_size: int, n_views: int = 3,
                 hard: bool = False, fresh: bool = True, seed: int = 0,
                 batches_per_epoch: int | None = None, clock: EpochSource | None = None):
        super().__init__()
        if len(tiles) < 2:
            raise ValueError(f"need at least 2 tiles to make dissimilar pairs, got {len(tiles)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if batches_per_epoch is not None and batches_per_epoch < 1:
            raise ValueError(f"batches_per_epoch must be at least 1 or None, got {batches_per_epoch}")
        self.tiles, self.size, self.batch_size = tiles, size, batch_size
        self.n_views, self.hard, self.fresh, self.seed = n_views, hard, fresh, seed
        self.batches_per_epoch, self.clock = batches_per_epoch, clock
        self.epoch, self.start, self.drawn = 0, 0, -1
        self._draw()

    def _draw(self) -> None:
        seed = self.seed + 1000 * self.epoch
        self.drawn = self.epoch
        self.views = pairs.make_views(self.tiles, self.size, self.n_views, seed=seed, hard=self.hard)
        self.pairs = pairs.make_pairs(self.views.groups, seed=seed)

    def __len__(self) -> int:
        return self.batches_per_epoch or -(-len(self.pairs) // self.batch_size)

    def __getitem__(self, index: int):
        first = self.start + index * self.batch_size
        if self.batches_per_epoch is None:
            batch = np.arange(first, min(first + self.batch_size, len(self.pairs)))
        else:
            batch = np.arange(first, first + self.batch_size) % len(self.pairs)
        images = self.views.images
        return ((images[self.pairs.left[batch]], images[self.pairs.right[batch]]),
                self.pairs.label[batch].astype(np.float32))

    def on_epoch_begin(self) -> None:
        """With a clock, go to the epoch ``fit`` is in: a resumed or later ``fit`` draws what it
        would have drawn as epoch ``clock.epoch`` of a fresh one (fixed pairs then start at 0)."""
        if self.clock is None:
            return
        self.epoch = self.clock.epoch
        if self.fresh and self.drawn != self.epoch:
            self._draw()
        elif not self.fresh and self.batches_per_epoch is not None:
            self.start = self.epoch * self.batches_per_epoch * self.batch_size % len(self.pairs)

    def on_epoch_end(self) -> None:
        """Draw the next epoch's views and pairs, or move on through the fixed ones."""
        self.epoch += 1
        if self.clock is not None:
            return  # the next on_epoch_begin goes to the clock's epoch
        if self.fresh:
            self._draw()
        elif self.batches_per_epoch is not None:
            self.start = (self.start + len(self) * self.batch_size) % len(self.pairs)
