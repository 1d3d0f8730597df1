"""Run profiles: how big a run each notebook makes, chosen once per run.

A profile is plain data. ``smoke`` proves the code path in seconds, ``cpu`` gives a real result on a
laptop in at most 15 minutes per notebook, ``gpu`` gives the same recipe with more data or epochs in
at most 10 minutes per notebook on a Colab-class GPU (a T4), ``full`` is the seed-scale run for a
large GPU, picked by name only, and ``auto`` picks ``gpu`` when Keras' backend sees a GPU, else
``cpu``. A concrete notebook parameter wins over the ``COURSE_PROFILE`` environment variable, which
wins over ``auto`` (the parameter's default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from numbers import Integral, Real
from types import MappingProxyType
from typing import Any, Mapping

CONCRETE_PROFILES = ("smoke", "cpu", "gpu", "full")
GPU_PROFILES = ("gpu", "full")  # sized for a GPU: slow without one, and every GPU of a machine trains
PROFILE_NAMES = CONCRETE_PROFILES + ("auto",)
ENV_VAR = "COURSE_PROFILE"

# Notebook 04's classes below full: the four apple classes, in every PlantVillage variant.
APPLE_CLASSES = ("Apple___Apple_scab", "Apple___Black_rot", "Apple___Cedar_apple_rust",
                 "Apple___healthy")
# Notebook 04's ``headline_model``: the model whose numbers are its headline metrics, fixed before
# the evaluation images are seen (chosen on held-out splits of the shared images with
# benchmarks/plant_seeds.py); None: the one with the best ROC AUC on the run's validation pairs.
# Where each profile runs, for the times people read ("15 min on 2 CPU cores"). The ``gpu`` budgets
# are sized by arithmetic from a ``cpu`` run on 2 CPU cores (benchmarks/gpu_budget.py, results in
# benchmarks/results/gpu_budget_gpu.json); they leave room for what the arithmetic cannot see.
# Training stays in float32 on a GPU: by that arithmetic every ``gpu`` run fits its budget in
# float32 with room to spare, and float16 (mixed precision) would shorten only the training part
# while its effect on the lessons' losses and distances has never been measured.
MACHINES = {"smoke": "", "cpu": " on 2 CPU cores", "gpu": " on a T4-class GPU",
            "full": " on an A100-class GPU"}

# Budgets per notebook. Every notebook reads its own entry; keys beyond the four common ones are
# the notebook's own knobs. ``minutes`` is the wall-time budget on the machine the profile targets.
SETTINGS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    # The overview trains nothing and reads no images (image_size None): it imports the frameworks
    # and looks for the data, whatever the profile.
    "00_overview": {
        name: dict(image_size=None, n_images=None, epochs=0, batch_size=None, minutes=0.5)
        for name in CONCRETE_PROFILES
    },
    "01_satellite_pairs": {
        "smoke": dict(image_size=64, n_images=60, epochs=0, batch_size=32, minutes=0.5,
                      benchmark_images=150, shards=1),
        "cpu": dict(image_size=128, n_images=None, epochs=0, batch_size=32, minutes=2,
                    benchmark_images=2000, shards=1),
        "gpu": dict(image_size=128, n_images=None, epochs=0, batch_size=32, minutes=2,
                    benchmark_images=2000, shards=1),
        "full": dict(image_size=128, n_images=None, epochs=0, batch_size=32, minutes=5,
                     benchmark_images=2000, shards=4),
    },
    "02_contrastive_siamese": {
        "smoke": dict(image_size=32, n_images=60, epochs=1, batch_size=32, minutes=1, margin=1.0,
                      learning_rate=1e-3, ablation_epochs=1, steps_per_epoch=2,
                      shards=1),
        "cpu": dict(image_size=48, n_images=None, epochs=6, batch_size=64, minutes=15, margin=1.0,
                    learning_rate=1e-3, ablation_epochs=1, steps_per_epoch=40,
                    shards=1),
        "gpu": dict(image_size=64, n_images=None, epochs=12, batch_size=64, minutes=10, margin=1.0,
                    learning_rate=1e-3, ablation_epochs=2, steps_per_epoch=80,
                    shards=1),
        "full": dict(image_size=128, n_images=None, epochs=40, batch_size=128, minutes=60,
                     margin=1.0, learning_rate=1e-3, ablation_epochs=5,
                     steps_per_epoch=None, shards=4),
    },
    "03_vgg16_omniglot": {
        "smoke": dict(image_size=28, n_images=300, epochs=1, batch_size=64, minutes=1, width=0.125,
                      siamese_steps=4, learning_rate=0.05, mirror=True,
                      background=("images_background_small1", "images_background_small2")),
        "cpu": dict(image_size=28, n_images=None, epochs=5, batch_size=128, minutes=15, width=0.25,
                    siamese_steps=2000, learning_rate=0.05, mirror=True,
                    background=("images_background_small1", "images_background_small2")),
        # The cpu recipe on all 30 background alphabets (964 characters), not the two small sets.
        "gpu": dict(image_size=28, n_images=None, epochs=5, batch_size=128, minutes=10, width=0.25,
                    siamese_steps=2000, learning_rate=0.05, mirror=True,
                    background=("images_background",)),
        "full": dict(image_size=105, n_images=None, epochs=15, batch_size=128, minutes=120,
                     width=1.0, siamese_steps=3000, learning_rate=0.05, mirror=True,
                     background=("images_background",)),
    },
    "04_plant_disease": {
        "smoke": dict(image_size=32, n_images=96, epochs=1, batch_size=16, minutes=1, episodes=20,
                      n_way=4, n_query=10, held_out_classes=0, eval_fraction=0.25, val_fraction=0.2,
                      val_pairs=100, eval_pairs=200, kaggle_size=32, steps_per_epoch=3,
                      learning_rate=2e-3, classes_per_batch=4, width=8, margin=0.3,
                      classes=APPLE_CLASSES, headline_model=None),
        "cpu": dict(image_size=128, n_images=None, epochs=30, batch_size=32, minutes=15, episodes=300,
                    n_way=4, n_query=10, held_out_classes=0, eval_fraction=0.25, val_fraction=0.15,
                    val_pairs=1000, eval_pairs=2000, kaggle_size=112, steps_per_epoch=20,
                    learning_rate=2e-3, classes_per_batch=4, width=32, margin=0.3,
                    classes=APPLE_CLASSES, headline_model="ensemble"),
        "gpu": dict(image_size=128, n_images=None, epochs=40, batch_size=32, minutes=10,
                    episodes=1000, n_way=4, n_query=10, held_out_classes=0, eval_fraction=0.25,
                    val_fraction=0.15, val_pairs=1000, eval_pairs=2000, kaggle_size=112,
                    steps_per_epoch=40, learning_rate=2e-3, classes_per_batch=4, width=32,
                    margin=0.3, classes=APPLE_CLASSES, headline_model="ensemble"),
        "full": dict(image_size=112, n_images=7600, epochs=40, batch_size=64, minutes=120,
                     episodes=1000, n_way=5, n_query=15, held_out_classes=10, eval_fraction=0.25,
                     val_fraction=0.1, val_pairs=4000, eval_pairs=10000, kaggle_size=112,
                     steps_per_epoch=100, learning_rate=1e-3, classes_per_batch=16, width=32,
                     margin=0.3, classes=None, headline_model=None),
    },
    "05_autoencoder_retrieval": {
        "smoke": dict(image_size=32, n_images=300, epochs=1, batch_size=64, minutes=1,
                      test_images=100, contrastive_epochs=1, contrastive_batch_size=64,
                      temperature=0.1, width=8),
        "cpu": dict(image_size=32, n_images=3000, epochs=30, batch_size=64, minutes=15,
                    test_images=1000, contrastive_epochs=50, contrastive_batch_size=128,
                    temperature=0.1, width=32),
        "gpu": dict(image_size=32, n_images=10000, epochs=30, batch_size=64, minutes=10,
                    test_images=1000, contrastive_epochs=50, contrastive_batch_size=128,
                    temperature=0.1, width=32),
        "full": dict(image_size=32, n_images=None, epochs=25, batch_size=128, minutes=30,
                     test_images=None, contrastive_epochs=50, contrastive_batch_size=512,
                     temperature=0.1, width=64),
    },
}


@dataclass(frozen=True)
class Profile:
    """The resolved settings of one notebook run."""

    name: str
    notebook: str
    requested: str
    image_size: int
    n_images: int | None
    epochs: int
    batch_size: int
    minutes: float
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:
        extra = object.__getattribute__(self, "extra")
        if key in extra:
            return extra[key]
        raise AttributeError(f"profile {self.name!r} of {self.notebook!r} has no setting {key!r}")

    def as_dict(self) -> dict[str, Any]:
        """Return every setting as one flat dict (for printing and metrics)."""
        common = {k: getattr(self, k) for k in ("name", "notebook", "requested", "image_size",
                                                 "n_images", "epochs", "batch_size", "minutes")}
        return {**common, **dict(self.extra)}

    def describe(self) -> str:
        """Return a short human summary of what this profile will run."""
        images = "all" if self.n_images is None else str(self.n_images)
        knobs = ", ".join(f"{k}={v}" for k, v in self.extra.items())
        auto = f" (auto -> {self.name})" if self.requested == "auto" else ""
        work = ("no images, no training" if self.image_size is None else
                f"{self.image_size}px images, {images} images, {self.epochs} epochs, "
                f"batch {self.batch_size}")
        text = (f"profile {self.name}{auto} for {self.notebook}: {work}, "
                f"budget about {self.minutes:g} min")
        return f"{text}, {knobs}" if knobs else text


def gpu_names() -> list[str]:
    """Return the GPUs Keras' backend trains on: those of TensorFlow, JAX or PyTorch.

    Empty when the backend's framework is not importable.
    """
    try:
        import keras

        backend = keras.config.backend()
        if backend == "jax":
            import jax

            return [str(device) for device in jax.devices() if device.platform == "gpu"]
        if backend == "torch":
            import torch

            return [f"cuda:{i} {torch.cuda.get_device_name(i)}"
                    for i in range(torch.cuda.device_count())]
        import tensorflow as tf
    except ImportError:
        return []
    return [gpu.name for gpu in tf.config.list_physical_devices("GPU")]


def gpu_count() -> int:
    """Return how many GPUs Keras' backend can train on (see ``gpu_names``)."""
    return len(gpu_names())


def requested_profile(name: str | None) -> str:
    """Return the profile asked for: an explicit parameter, else ``COURSE_PROFILE``, else ``auto``.

    The notebooks' default parameter value ``"auto"`` counts as "not set", so an instructor's
    ``COURSE_PROFILE`` applies unless a run names a concrete profile.
    """
    explicit = (name or "").strip().lower()
    if explicit and explicit != "auto":
        return explicit
    return (os.environ.get(ENV_VAR) or "auto").strip().lower()


def resolve_profile_name(name: str | None = None, *, gpus: int | None = None) -> str:
    """Return the concrete profile name for a parameter value, ``COURSE_PROFILE`` or ``auto``.

    Raises:
        ValueError: the name is not one of smoke, cpu, gpu, full or auto.
    """
    requested = requested_profile(name)
    if requested not in PROFILE_NAMES:
        raise ValueError(f"unknown profile {requested!r}: choose {', '.join(PROFILE_NAMES[:-1])} "
                         f"or {PROFILE_NAMES[-1]}")
    if requested != "auto":
        return requested
    return "gpu" if (gpu_count() if gpus is None else gpus) > 0 else "cpu"


def get_profile(name: str | None, notebook: str, *, gpus: int | None = None,
                **overrides: Any) -> Profile:
    """Return the profile of ``notebook``; keyword overrides that are not None replace settings.

    Raises:
        ValueError: unknown profile name, unknown notebook, unknown override key, or an override
            that is not the kind of number its setting holds (``epochs=-1``, ``width="wide"``).
    """
    if notebook not in SETTINGS:
        raise ValueError(f"unknown notebook {notebook!r}: choose one of {', '.join(SETTINGS)}")
    requested = requested_profile(name)
    concrete = resolve_profile_name(requested, gpus=gpus)
    settings = dict(SETTINGS[notebook][concrete])
    unknown = set(overrides) - set(settings)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))} for {notebook}: "
                         f"choose from {', '.join(sorted(settings))}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    for key, value in overrides.items():
        _check_number(notebook, key, value)
    settings.update(overrides)
    common = {k: settings.pop(k) for k in ("image_size", "n_images", "epochs", "batch_size",
                                           "minutes")}
    return Profile(name=concrete, notebook=notebook, requested=requested, **common,
                   extra=MappingProxyType(settings))


def _check_number(notebook: str, key: str, value: Any) -> None:
    """Raise ValueError when ``value`` is not the kind of number ``key`` holds in every profile.

    Counts need a whole number of at least 1, sizes and rates a number above 0; 0 is allowed
    only where some profile of the notebook already uses it (notebook 01 trains for 0 epochs).
    """
    known = [SETTINGS[notebook][p][key] for p in CONCRETE_PROFILES]
    values = [v for v in known if v is not None]
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        return
    whole = all(isinstance(v, int) for v in values)
    zero_ok = 0 in values
    kind = "a whole number" if whole else "a number"
    floor = "of 0 or more" if zero_ok else ("of at least 1" if whole else "above 0")
    kind_ok = isinstance(value, Integral if whole else Real) and not isinstance(value, bool)
    valid = kind_ok and (value >= 0 if zero_ok else value > 0)
    if not valid:
        raise ValueError(f"{key} must be {kind} {floor} for {notebook}, got {value!r}")


def what_you_need(notebook: str) -> str:
    """Return the title cell's time and download line for ``notebook``, from the profiles.

    Raises:
        ValueError: unknown notebook.
    """
    from .datasets.sources import download_mb

    times = ", ".join(f"{budget(notebook, p)}{MACHINES[p]} (`{p}`)" for p in CONCRETE_PROFILES)
    megabytes = {name: download_mb(notebook, name) for name in CONCRETE_PROFILES}
    if not any(megabytes.values()):
        return f"**What you need**: at most {times}; no download."
    sizes: dict[str, list[str]] = {}
    for name, value in megabytes.items():
        sizes.setdefault(format_megabytes(value), []).append(f"`{name}`")
    downloads = " or ".join(f"{size} ({', '.join(names)})" for size, names in sizes.items())
    return (f"**What you need**: at most {times}; with no local copy of the data, a one-time "
            f"download of {downloads}.")


def budget(notebook: str, profile: str) -> str:
    """Return a notebook's time budget under a concrete profile as people read it (``30 s``).

    The machine it holds on is ``MACHINES[profile]``.

    Raises:
        ValueError: unknown notebook or profile.
    """
    if notebook not in SETTINGS:
        raise ValueError(f"unknown notebook {notebook!r}: choose one of {', '.join(SETTINGS)}")
    if profile not in CONCRETE_PROFILES:
        raise ValueError(f"unknown profile {profile!r}: choose {', '.join(CONCRETE_PROFILES)}")
    return format_minutes(SETTINGS[notebook][profile]["minutes"])


def format_minutes(value: float) -> str:
    """Return minutes as the title cells write them: ``30 s`` below a minute, else ``15 min``."""
    return f"{value * 60:g} s" if value < 1 else f"{value:g} min"


def format_megabytes(value: float) -> str:
    """Return a size in MB as the title cells write it: ``3.3 MB``, ``427 MB``, ``1.9 GB``."""
    return f"{value / 1000:.1f} GB" if value >= 1000 else f"{value:.0f} MB" if value >= 10 else \
        f"{value:.1f} MB"


def backend_version() -> str:
    """Return Keras' backend, with its framework's version unless it is TensorFlow (``jax 0.7.0``).

    TensorFlow's version is named anyway: it feeds the input pipelines under every backend.
    """
    import importlib

    import keras

    backend = keras.config.backend()
    if backend == "tensorflow":
        return backend
    try:
        version = getattr(importlib.import_module(backend), "__version__", "")
    except ImportError:
        version = ""
    return f"{backend} {version}".strip()


def runtime_report(profile: Profile) -> str:
    """Return the TensorFlow/Keras versions, Keras' backend and the devices, warning when ``full``
    runs without a GPU."""
    import keras

    # Under the JAX backend, JAX must find its GPU before TensorFlow loads: on an H200 whose CUDA
    # libraries were JAX's alone, importing TensorFlow first left JAX on the CPU.
    gpus = gpu_names()
    import tensorflow as tf  # feeds the input pipelines (tf.data) under every backend

    devices = f"{len(gpus)} GPU(s)" + (f": {', '.join(gpus)}" if gpus else "")
    lines = [f"TensorFlow {tf.__version__}, Keras {keras.__version__} "
             f"(backend {backend_version()}), {devices}"]
    if int(keras.__version__.split(".")[0]) < 3:
        lines.append("WARNING: this course needs Keras 3; run `pip install -U keras` and restart.")
    if profile.name in GPU_PROFILES and not gpus:
        lines.append(f"WARNING: profile '{profile.name}' without a GPU will take far longer than "
                     f"its {profile.minutes:g}-minute budget; use PROFILE='cpu' on a laptop.")
    return "\n".join(lines)
