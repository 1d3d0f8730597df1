"""Training on several GPUs at once: one data-parallel scope, whichever Keras backend runs.

Each batch is split across the devices and their gradients are averaged, so a model learns as it
would on one device with the same batch size. Under JAX, Keras' own
``keras.distribution.DataParallel`` does it; under TensorFlow, ``tf.distribute.MirroredStrategy``.
Keras has no multi-device training for PyTorch: there, and wherever fewer than two devices are
found, the scope changes nothing. Build, compile and fit the model inside the scope::

    with data_parallel():
        model = build_model()
        model.compile(...)
        model.fit(...)

The notebooks call ``accelerate(profile)`` once instead: under ``gpu`` and ``full`` it spreads every
model built afterwards over all GPUs, for the whole run.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ContextManager

if TYPE_CHECKING:
    from .profiles import Profile

DEVICE_TYPES = ("gpu", "cpu")


def parallel_devices(device_type: str = "gpu") -> list[str]:
    """Return the devices of ``device_type`` that Keras' backend can split a batch across.

    Raises:
        ValueError: ``device_type`` is not gpu or cpu.
    """
    import keras

    if device_type not in DEVICE_TYPES:
        raise ValueError(f"unknown device type {device_type!r}: choose {' or '.join(DEVICE_TYPES)}")
    backend = keras.config.backend()
    if backend == "jax":
        try:
            return list(keras.distribution.list_devices(device_type))
        except RuntimeError:  # JAX has no such platform here
            return []
    if backend == "tensorflow":
        import tensorflow as tf

        return [device.name for device in tf.config.list_logical_devices(device_type.upper())]
    return []


def data_parallel(device_type: str = "gpu") -> ContextManager:
    """Return a scope in which models train on every device of ``device_type``, a batch split
    across them; a scope that changes nothing with fewer than two such devices.

    Raises:
        ValueError: ``device_type`` is not gpu or cpu.
    """
    devices = parallel_devices(device_type)
    return _distribution(devices).scope() if len(devices) > 1 else contextlib.nullcontext()


def spread_over(device_type: str = "gpu") -> int:
    """Make every model built from now on train on all devices of ``device_type``, a batch split
    across them; return how many devices that is (1: nothing changed).

    Raises:
        ValueError: ``device_type`` is not gpu or cpu.
    """
    import keras

    devices = parallel_devices(device_type)
    if len(devices) < 2:
        return 1
    distribution = _distribution(devices)
    if keras.config.backend() == "jax":
        keras.distribution.set_distribution(distribution)
    else:
        import tensorflow as tf

        tf.distribute.experimental_set_strategy(distribution)
    return len(devices)


def accelerate(profile: Profile) -> str:
    """Spread training over every GPU when ``profile`` is ``gpu`` or ``full``; say where it runs.

    The other profiles train on one device, whatever the machine has.
    """
    from .profiles import GPU_PROFILES, gpu_count

    gpus = gpu_count()
    devices = spread_over("gpu") if profile.name in GPU_PROFILES and gpus > 1 else 1
    if devices > 1:
        return f"training on {devices} GPUs, each batch split across them"
    return f"training on {'1 GPU' if gpus else 'the CPU'}"


def _distribution(devices: list[str]):
    """Return the data-parallel engine of Keras' backend over ``devices``: Keras' ``DataParallel``
    under JAX, TensorFlow's ``MirroredStrategy`` otherwise."""
    import keras

    if keras.config.backend() == "jax":
        return keras.distribution.DataParallel(devices=devices)
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(devices)
