"""Data-parallel training: a model trained with each batch split across two devices learns what it
learns on one. Two virtual CPU devices stand in for two GPUs."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import REPO

# Notebook 03's similarity head (Dense layers, no BatchNorm, whose per-device batch statistics
# would differ) trained on one device, then on two; both runs start from the same weights.
TRAIN = """
import contextlib
import numpy as np
import keras
backend = keras.config.backend()
if backend == "tensorflow":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from conftest import notebook_namespace
from course_utils.distribution import data_parallel, parallel_devices, spread_over

ns = notebook_namespace("03_vgg16_omniglot")
rng = np.random.default_rng(0)
first, second = (rng.normal(size=(64, 8)).astype("float32") for _ in range(2))
same = (np.abs(first - second).sum(axis=1) < 6).astype("float32")


def train(scope):
    keras.utils.set_random_seed(0)
    with scope:
        head = ns["similarity_head"](8)
        head.compile(keras.optimizers.SGD(0.05), "binary_crossentropy")
        if backend == "jax":
            devices = len(keras.distribution.distribution().device_mesh.devices.ravel()) \\
                if keras.distribution.distribution() else 1
        else:
            devices = tf.distribute.get_strategy().num_replicas_in_sync
        head.fit([first, second], same, batch_size=16, epochs=3, shuffle=False, verbose=0)
        return head.predict([first, second], verbose=0), devices


assert len(parallel_devices("cpu")) == 2, parallel_devices("cpu")
one, one_devices = train(contextlib.nullcontext())
two, two_devices = train(data_parallel("cpu"))
assert (one_devices, two_devices) == (1, 2), (one_devices, two_devices)
assert np.abs(one - 0.5).max() > 1e-3  # it learned something to compare
np.testing.assert_allclose(two, one, atol=1e-5)
# Last: spread_over sets the distribution for everything built afterwards, as the notebooks use it.
assert spread_over("cpu") == 2
everywhere, everywhere_devices = train(contextlib.nullcontext())
assert everywhere_devices == 2, everywhere_devices
np.testing.assert_allclose(everywhere, one, atol=1e-5)
print("same on 1 and 2 devices under", backend)
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_devices_train_the_model_one_device_trains(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"Keras backend {backend} not installed here: pip install -e '.[{backend}]'")
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)])}
    done = subprocess.run([sys.executable, "-c", TRAIN], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"same on 1 and 2 devices under {backend}" in done.stdout


def test_one_device_leaves_training_alone():
    from course_utils.distribution import data_parallel, parallel_devices, spread_over

    if len(parallel_devices("gpu")) > 1:
        pytest.skip("this machine has several GPUs")
    with data_parallel("gpu") as scope:
        assert scope is None
    assert spread_over("gpu") == 1


@pytest.mark.parametrize("name, gpus, said", [
    ("gpu", 0, "training on the CPU"), ("cpu", 1, "training on 1 GPU"),
    ("gpu", 1, "training on 1 GPU")])
def test_accelerate_says_where_training_runs(name, gpus, said, monkeypatch):
    from course_utils import distribution, profiles

    monkeypatch.setattr(profiles, "gpu_count", lambda: gpus)
    assert distribution.accelerate(profiles.get_profile(name, "03_vgg16_omniglot")) == said


def test_unknown_device_type_is_named():
    from course_utils.distribution import parallel_devices

    with pytest.raises(ValueError, match="unknown device type 'tpu': choose gpu or cpu"):
        parallel_devices("tpu")
