"""The Siamese building blocks notebook 02 teaches, for the notebooks after it to import.

One registered name, one meaning: ``course>EuclideanDistance`` gives one distance per pair and
``course>ContrastiveLoss`` reads labels in the course's convention (:mod:`course_utils.labels`,
1 = similar), so a model saved by one notebook loads and trains the same in another.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="course")
class EuclideanDistance(keras.layers.Layer):
    """Euclidean distance between two batches of embeddings: one number per pair."""

    def call(self, left, right):
        squared = ops.sum(ops.square(left - right), axis=-1)
        # sqrt has an infinite slope at 0: keep identical embeddings a hair apart.
        return ops.sqrt(ops.maximum(squared, keras.config.epsilon()))


@keras.saving.register_keras_serializable(package="course")
def contrastive_loss(labels, distances, margin=1.0):
    """Contrastive loss per pair: pull similar (label 1) together, push dissimilar (0) past the margin."""
    labels = ops.cast(ops.reshape(labels, (-1,)), distances.dtype)
    distances = ops.reshape(distances, (-1,))
    pull = labels * ops.square(distances)
    push = (1 - labels) * ops.square(ops.maximum(margin - distances, 0.0))
    return pull + push


@keras.saving.register_keras_serializable(package="course")
class ContrastiveLoss(keras.losses.Loss):
    """:func:`contrastive_loss` as a Keras loss with its margin (averaged over the batch)."""

    def __init__(self, margin=1.0, name="contrastive_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = margin

    def call(self, y_true, y_pred):
        return contrastive_loss(y_true, y_pred, self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


def embed(tower: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Embed ``images`` with ``tower`` in inference mode (dropout off), ``batch_size`` at a time."""
    return np.concatenate([ops.convert_to_numpy(tower(images[i:i + batch_size], training=False))
                           for i in range(0, len(images), batch_size)])
