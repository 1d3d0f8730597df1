"""Run profiles: names, precedence, overrides, errors and the GPUs of the Keras backend."""

import re
import sys
from types import SimpleNamespace

import keras
import pytest

from course_utils import profiles
from course_utils.profiles import get_profile, resolve_profile_name


def test_every_notebook_defines_every_concrete_profile():
    for notebook, table in profiles.SETTINGS.items():
        assert set(table) == set(profiles.CONCRETE_PROFILES), notebook
        for name, settings in table.items():
            assert {"image_size", "n_images", "epochs", "batch_size", "minutes"} <= set(settings)


def test_smoke_profiles_fit_the_five_minute_course_budget():
    total = sum(table["smoke"]["minutes"] for table in profiles.SETTINGS.values())
    assert total <= 5
    assert all(table["cpu"]["minutes"] <= 15 for table in profiles.SETTINGS.values())


@pytest.mark.parametrize("notebook", list(profiles.SETTINGS))
def test_auto_on_one_gpu_is_the_gpu_profile_within_ten_minutes(notebook, monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    profile = get_profile("auto", notebook, gpus=1)
    assert profile.name == "gpu" and profile.minutes <= 10, profile.describe()


def test_the_gpu_profile_is_the_cpu_recipe_with_at_least_as_much_training():
    for notebook, table in profiles.SETTINGS.items():
        cpu, gpu = table["cpu"], table["gpu"]
        assert gpu["epochs"] >= cpu["epochs"], notebook
        if cpu["n_images"] is not None:
            assert gpu["n_images"] is None or gpu["n_images"] >= cpu["n_images"], notebook


def test_parameter_beats_environment_beats_auto(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    assert resolve_profile_name("cpu", gpus=0) == "cpu"
    assert resolve_profile_name(None, gpus=0) == "smoke"
    assert resolve_profile_name("auto", gpus=0) == "smoke"  # the notebooks' default defers to it
    monkeypatch.delenv("COURSE_PROFILE")
    assert resolve_profile_name(None, gpus=0) == "cpu"


@pytest.mark.parametrize("gpus, expected", [(0, "cpu"), (1, "gpu"), (4, "gpu")])
def test_auto_picks_gpu_only_with_a_gpu_and_full_only_by_name(gpus, expected, monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert resolve_profile_name("auto", gpus=gpus) == expected


def test_unknown_profile_lists_the_valid_names(monkeypatch):
    with pytest.raises(ValueError, match="unknown profile 'fast'.*smoke, cpu, gpu, full or auto"):
        resolve_profile_name("fast")
    monkeypatch.setenv("COURSE_PROFILE", "tpu")
    with pytest.raises(ValueError, match="unknown profile 'tpu'"):
        get_profile(None, "01_satellite_pairs")


def test_profile_is_plain_data_with_the_notebooks_own_knobs():
    profile = get_profile("smoke", "03_vgg16_omniglot", gpus=0)
    assert profile.name == "smoke" and profile.requested == "smoke"
    assert profile.width == profiles.SETTINGS["03_vgg16_omniglot"]["smoke"]["width"]
    assert profile.as_dict()["width"] == profile.width
    assert "smoke" in profile.describe() and "width=" in profile.describe()
    with pytest.raises(AttributeError, match="no setting 'colour'"):
        profile.colour


def test_overrides_replace_settings_but_none_keeps_the_profile_value():
    profile = get_profile("cpu", "02_contrastive_siamese", epochs=3, image_size=None)
    assert profile.epochs == 3
    assert profile.image_size == profiles.SETTINGS["02_contrastive_siamese"]["cpu"]["image_size"]


def test_unknown_override_and_unknown_notebook_are_refused():
    with pytest.raises(ValueError, match="unknown setting.*epoch"):
        get_profile("cpu", "02_contrastive_siamese", epoch=3)
    with pytest.raises(ValueError, match="unknown notebook '09_gan'"):
        get_profile("cpu", "09_gan")


@pytest.mark.parametrize("notebook, key, value, message", [
    ("03_vgg16_omniglot", "width", 0, "width must be a number above 0"),
    ("03_vgg16_omniglot", "width", "wide", "width must be a number above 0"),
    ("03_vgg16_omniglot", "epochs", -1, "epochs must be a whole number of at least 1"),
    ("02_contrastive_siamese", "epochs", 2.5, "epochs must be a whole number of at least 1"),
    ("02_contrastive_siamese", "learning_rate", True, "learning_rate must be a number above 0"),
    ("05_autoencoder_retrieval", "n_images", 0, "n_images must be a whole number of at least 1"),
    ("04_plant_disease", "n_way", "5", "n_way must be a whole number of at least 1"),
])
def test_an_override_that_is_not_the_settings_kind_of_number_is_refused(notebook, key, value,
                                                                        message):
    with pytest.raises(ValueError, match=re.escape(f"{message} for {notebook}, got {value!r}")):
        get_profile("cpu", notebook, **{key: value})


def test_numeric_overrides_of_the_right_kind_are_taken():
    assert get_profile("cpu", "03_vgg16_omniglot", width=1).width == 1  # an int for a float knob
    assert get_profile("cpu", "05_autoencoder_retrieval", n_images=500).n_images == 500
    # a profile already holds 0 here (held-out classes), so 0 stays allowed in every profile
    assert get_profile("full", "04_plant_disease", held_out_classes=0).held_out_classes == 0
    with pytest.raises(ValueError, match="held_out_classes must be a whole number of 0 or more"):
        get_profile("full", "04_plant_disease", held_out_classes=-2)


def test_auto_is_reported_as_what_it_resolved_to(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    profile = get_profile("auto", "01_satellite_pairs", gpus=0)
    assert profile.name == "cpu" and "auto -> cpu" in profile.describe()


@pytest.mark.parametrize("name", ["gpu", "full"])
def test_runtime_report_warns_about_a_gpu_profile_without_a_gpu(name):
    report = profiles.runtime_report(get_profile(name, "02_contrastive_siamese", gpus=1))
    assert report.startswith("TensorFlow ") and "Keras 3." in report
    if profiles.gpu_count() == 0:
        assert f"WARNING: profile '{name}' without a GPU" in report


def test_gpus_are_the_jax_backends_under_keras_backend_jax(monkeypatch):
    class Device(SimpleNamespace):
        def __str__(self):
            return f"{self.platform}:0"

    fake_jax = SimpleNamespace(__version__="0.9.9",
                               devices=lambda: [Device(platform="gpu"), Device(platform="cpu")])
    monkeypatch.setitem(sys.modules, "jax", fake_jax)
    monkeypatch.setattr(keras.config, "backend", lambda: "jax")
    assert profiles.gpu_names() == ["gpu:0"] and profiles.gpu_count() == 1
    assert resolve_profile_name("auto") == "gpu"
    report = profiles.runtime_report(get_profile("full", "03_vgg16_omniglot"))
    assert "(backend jax 0.9.9), 1 GPU(s): gpu:0" in report and "WARNING" not in report


def test_gpus_are_the_torch_cuda_devices_under_keras_backend_torch(monkeypatch):
    cuda = SimpleNamespace(device_count=lambda: 2, get_device_name=lambda i: f"H100 #{i}")
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(__version__="2.9.9", cuda=cuda))
    monkeypatch.setattr(keras.config, "backend", lambda: "torch")
    assert profiles.gpu_names() == ["cuda:0 H100 #0", "cuda:1 H100 #1"]
    assert resolve_profile_name("auto") == "gpu"
    report = profiles.runtime_report(get_profile("full", "04_plant_disease"))
    assert "(backend torch 2.9.9), 2 GPU(s)" in report and "WARNING" not in report


def test_runtime_report_names_the_tensorflow_backend():
    if keras.config.backend() != "tensorflow":
        pytest.skip(f"runs under the TensorFlow backend, not {keras.config.backend()}")
    assert "(backend tensorflow)" in profiles.runtime_report(get_profile("smoke", "01_satellite_pairs"))


def test_the_overview_downloads_nothing_and_trains_nothing():
    assert profiles.what_you_need("00_overview") == (
        "**What you need**: at most 30 s (`smoke`), 30 s on 2 CPU cores (`cpu`), 30 s on a "
        "T4-class GPU (`gpu`), 30 s on an A100-class GPU (`full`); no download.")
    text = get_profile("cpu", "00_overview").describe()
    assert text == "profile cpu for 00_overview: no images, no training, budget about 0.5 min"


def test_budget_is_the_title_cells_time_and_refuses_unknown_names():
    assert profiles.budget("01_satellite_pairs", "smoke") == "30 s"
    assert profiles.budget("02_contrastive_siamese", "full") == "60 min"
    with pytest.raises(ValueError, match="unknown profile 'auto': choose smoke, cpu, gpu, full"):
        profiles.budget("01_satellite_pairs", "auto")
    with pytest.raises(ValueError, match="unknown notebook '09_x'"):
        profiles.budget("09_x", "cpu")


def test_readme_and_instructor_docs_give_the_times_of_the_profiles():
    from conftest import REPO

    readme = " ".join((REPO / "README.md").read_text().split())
    for name in ("cpu", "gpu"):
        most = max(table[name]["minutes"] for table in profiles.SETTINGS.values())
        assert f"at most {most:g} minutes per notebook{profiles.MACHINES[name]}" in readme, name
    docs = " ".join((REPO / "docs" / "instructors.md").read_text().split())
    for notebook in profiles.SETTINGS:
        line = profiles.what_you_need(notebook).replace("**What you need**: at most", "Time: at most")
        assert line.rstrip(".") in docs, f"docs/instructors.md: {notebook} must read {line}"
