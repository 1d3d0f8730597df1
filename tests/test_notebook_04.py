"""Notebook 04: its losses, layers and models (the cells students read), and a smoke run."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import notebook_namespace

METRIC_KEYS = {
    "verification_accuracy", "verification_precision", "verification_recall", "verification_auc",
    "kaggle_style_accuracy", "fewshot_n_way", "fewshot_protocol", "fewshot_1shot_accuracy",
    "fewshot_5shot_accuracy", "contrastive_5shot_accuracy", "triplet_5shot_accuracy",
    "classifier_5shot_accuracy", "ensemble_5shot_accuracy", "train_seconds",
}


@pytest.fixture(scope="module")
def ns():
    return notebook_namespace("04_plant_disease")


def test_distance_and_contrastive_loss_are_notebook_02s_from_course_utils(ns):
    from course_utils import siamese

    assert ns["EuclideanDistance"] is siamese.EuclideanDistance
    assert ns["ContrastiveLoss"] is siamese.ContrastiveLoss


def test_triplet_loss_matches_hand_computed_values_and_margin_edge(ns):
    triplet = ns["triplet_loss"]
    positive = np.array([0.2, 0.5, 0.5, 1.0], "float32")
    negative = np.array([1.0, 0.9, 1.0, 0.4], "float32")
    values = np.asarray(triplet(positive, negative, margin=0.5))
    assert np.allclose(values, [0.0, 0.1, 0.0, 1.1], atol=1e-6)


EMBEDDINGS = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 1.5]], "float32")
CLASSES = np.array([0, 0, 1, 1])


def test_batch_hard_triplet_uses_farthest_positive_and_nearest_negative(ns):
    loss = ns["BatchTripletLoss"](margin=0.5, mining="hard")
    # anchor 0: farthest positive 1.0, nearest negative 1.5 -> 0.0
    # anchor 1: positive 1.0, negative 0.5 -> 1.0;  anchor 2: positive 3.354, negative 3.0 -> 0.854
    # anchor 3: positive 3.354, negative 0.5 -> 3.354
    far = np.hypot(3, 1.5)
    expected = np.mean([0.0, 1.0, far - 3 + 0.5, far - 0.5 + 0.5])
    assert float(loss(CLASSES, EMBEDDINGS)) == pytest.approx(expected, rel=1e-4)


def test_batch_all_triplet_averages_the_violating_triplets(ns):
    loss = ns["BatchTripletLoss"](margin=0.5, mining="all")
    far = np.hypot(3, 1.5)
    # (anchor, positive, negative): d(a,p) + 0.5 - d(a,n) for the 8 triplets, zero ones skipped.
    values = [1.0 + 0.5 - 3.0, 1.0 + 0.5 - 1.5, 1.0 + 0.5 - np.hypot(3, 1), 1.0 + 0.5 - 0.5,
              far + 0.5 - 3.0, far + 0.5 - np.hypot(3, 1), far + 0.5 - 1.5, far + 0.5 - 0.5]
    violating = [v for v in values if v > 0]
    assert len(violating) == 5
    assert float(loss(CLASSES, EMBEDDINGS)) == pytest.approx(np.mean(violating), rel=1e-4)


def test_batch_triplet_loss_refuses_unknown_mining(ns):
    with pytest.raises(ValueError, match="choose 'all' or 'hard'"):
        ns["BatchTripletLoss"](mining="semi")


def test_kaggle_siamese_maps_two_images_to_a_distance_and_round_trips(ns, tmp_path):
    import keras

    model = ns["siamese"](ns["kaggle_tower"](32))
    assert model.get_layer("kaggle_tower").output.shape[-1] == 50
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 1)).astype("uint8")
    distances = model.predict([images, images[::-1]], verbose=0)
    assert distances.shape == (3,) and distances[1] == pytest.approx(0.0, abs=1e-3)
    model.save(tmp_path / "kaggle.keras")
    again = keras.saving.load_model(tmp_path / "kaggle.keras")
    assert np.allclose(again.predict([images, images[::-1]], verbose=0), distances, atol=1e-5)


def test_leaf_tower_embeds_on_the_unit_sphere(ns):
    tower = ns["leaf_tower"]((32, 32, 3), width=4, embedding_size=8)
    images = np.random.default_rng(1).integers(0, 256, (5, 32, 32, 3)).astype("uint8")
    embeddings = tower.predict(images, verbose=0)
    assert embeddings.shape == (5, 8)
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_classifier_puts_one_logit_per_class_on_the_shared_tower(ns):
    tower = ns["leaf_tower"]((32, 32, 3), width=4, embedding_size=8)
    model = ns["classifier"](tower, 3, scale=10.0)
    images = np.random.default_rng(2).integers(0, 256, (4, 32, 32, 3)).astype("uint8")
    logits = model.predict(images, verbose=0)
    assert logits.shape == (4, 3)
    dense = model.get_layer("logits")
    expected = 10.0 * tower.predict(images, verbose=0) @ dense.kernel.numpy() + dense.bias.numpy()
    assert np.allclose(logits, expected, atol=1e-4)  # the head reads the tower's embedding, scaled
    assert {w.name for w in tower.weights} <= {w.name for w in model.weights}


def test_embed_views_is_the_same_for_a_turned_or_mirrored_image(ns):
    tower = ns["leaf_tower"]((32, 32, 3), width=4, embedding_size=8)
    images = np.random.default_rng(3).integers(0, 256, (2, 32, 32, 3)).astype("uint8")
    plain = ns["embed_views"](tower, images)
    assert np.allclose(np.linalg.norm(plain, axis=1), 1.0, atol=1e-5)
    for changed in (np.rot90(images, 1, axes=(1, 2)), images[:, ::-1], images[:, :, ::-1]):
        assert np.allclose(ns["embed_views"](tower, np.ascontiguousarray(changed)), plain, atol=1e-4)


def test_loss_configs_keep_their_margin(ns):
    assert ns["ContrastiveLoss"](margin=2.0).get_config()["margin"] == 2.0
    config = ns["BatchTripletLoss"](margin=0.2, mining="hard").get_config()
    assert config["margin"] == 0.2 and config["mining"] == "hard"


@pytest.mark.notebook
def test_smoke_run_writes_every_metric_in_range(run_notebook):
    metrics = run_notebook("04_plant_disease").metrics
    assert METRIC_KEYS <= set(metrics)
    assert metrics["profile"] == "smoke"
    assert set(metrics["sources"]) == {"train", "evaluation"}
    assert metrics["sources"]["evaluation"].startswith("held out")
    assert metrics["fewshot_n_way"] == 4
    assert metrics["fewshot_protocol"] == "unseen_images"
    for key in METRIC_KEYS - {"fewshot_n_way", "fewshot_protocol", "train_seconds"}:
        assert 0.0 <= metrics[key] <= 1.0, key
    # the best model is chosen on validation pairs, so it need not be the one scoring highest here
    assert metrics["best_model"] in {"contrastive", "triplet", "classifier", "ensemble"}
    assert metrics["fewshot_5shot_accuracy"] == metrics[f"{metrics['best_model']}_5shot_accuracy"]
    assert metrics["train_seconds"] > 0 and metrics["all_training_seconds"] == metrics["train_seconds"]


@pytest.mark.notebook
def test_held_out_eval_dir_is_used_for_evaluation(run_notebook, shared_data):
    metrics = run_notebook("04_plant_disease",
                           EVAL_DIR=str(shared_data / "plantvillage" / "segmented")).metrics
    assert metrics["sources"]["evaluation"].startswith("local folder")
    assert metrics["fewshot_protocol"] == "unseen_images"


def test_side_by_side_averages_the_towers_squared_distances(ns):
    rng = np.random.default_rng(5)
    a, b = (rng.normal(size=(6, 8)) for _ in range(2))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    both = ns["side_by_side"](a, b)
    assert both.shape == (6, 16) and np.allclose(np.linalg.norm(both, axis=1), 1.0)
    squared = lambda x: ((x[:, None] - x[None]) ** 2).sum(-1)
    assert np.allclose(squared(both), (squared(a) + squared(b)) / 2)
