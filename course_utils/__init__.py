"""Helper package of the course *Siamese networks and image similarity with TensorFlow/Keras*.

Plumbing only (data loading, pair generation, plotting, metrics, run profiles); the models, losses
and training loops stay visible in the notebooks.
"""

__version__ = "0.1.0"
