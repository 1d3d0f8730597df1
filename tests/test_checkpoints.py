"""fit_or_resume: an interrupted fit resumes at the next epoch, a finished one is reused; EpochClock."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course_utils import character_streams  # noqa: E402
from course_utils.checkpoints import EpochClock, fit_or_resume, read_history  # noqa: E402


class Interrupt(keras.callbacks.Callback):
    """Stop the run at the start of ``epoch``, as a dead kernel would."""

    def __init__(self, epoch):
        super().__init__()
        self.at = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


class Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)


def model(seed=0):
    keras.utils.set_random_seed(seed)
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    net.compile(keras.optimizers.Adam(0.05), "mse")
    return net


def data():
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    return x, x @ np.array([1.0, -2.0, 0.5], "float32")


def fit(net, folder, *callbacks):
    x, y = data()
    return fit_or_resume(net, x, folder, epochs=5, callbacks=list(callbacks), y=y, batch_size=8,
                         shuffle=False, verbose=0)


def test_an_interrupted_fit_resumes_at_the_next_epoch_and_ends_where_an_unbroken_one_does(tmp_path):
    reference = model()
    whole = fit(reference, tmp_path / "whole")
    net, seen = model(), Epochs()
    with pytest.raises(KeyboardInterrupt):
        fit(net, tmp_path / "broken", Interrupt(3))
    resumed = fit(model(seed=1), tmp_path / "broken", seen)  # other starting weights: restored anyway
    assert seen.seen == [3, 4]  # epochs 0-2 are not trained again
    np.testing.assert_allclose(resumed["loss"], whole["loss"], rtol=1e-5)
    assert len(resumed["loss"]) == 5
    assert not (tmp_path / "broken" / "backup").exists()


def test_a_finished_fit_is_loaded_not_trained_again(tmp_path, capsys):
    trained = model()
    history = fit(trained, tmp_path)
    again, seen = model(seed=1), Epochs()
    assert fit(again, tmp_path, seen) == history
    assert seen.seen == []
    for a, b in zip(trained.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert "training finished earlier" in capsys.readouterr().out


def test_a_fresh_start_forgets_the_log_of_an_epoch_that_never_got_backed_up(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,loss\n0,99.0\n")
    assert fit(model(), tmp_path)["loss"][0] != 99.0


def test_read_history_keeps_the_last_row_of_an_epoch_logged_twice(tmp_path):
    log = tmp_path / "history.csv"
    log.write_text("epoch,accuracy,loss\n0,0.1,2.0\n1,0.2,1.5\n1,0.25,1.4\n2,0.3,1.0\n")
    assert read_history(log) == {"accuracy": [0.1, 0.25, 0.3], "loss": [2.0, 1.4, 1.0]}


def batches(stream):
    return [labels.numpy().tolist() for _, labels in stream]


def test_a_clocked_stream_resumed_at_an_epoch_draws_what_an_unbroken_one_drew_then():
    images = np.zeros((12, 8, 8), np.uint8)
    labels = np.arange(12)
    clock = EpochClock()
    stream = character_streams.class_stream(images, labels, 4, seed=3, augment=False, clock=clock)
    epochs = []
    for epoch in (0, 1, 2):
        clock.on_epoch_begin(epoch)
        epochs.append(batches(stream))
    assert epochs[0] != epochs[1] != epochs[2]
    resumed = EpochClock()  # a fresh run that starts at epoch 2
    resumed.on_epoch_begin(2)
    assert batches(character_streams.class_stream(images, labels, 4, seed=3, augment=False, clock=resumed)) == epochs[2]


def test_an_unbroken_clocked_stream_draws_exactly_what_a_stream_without_a_clock_draws():
    # Notebook 03's measured results come from unclocked streams; a clock must not change them.
    images = np.random.default_rng(0).integers(0, 255, (12, 8, 8), dtype=np.uint8)
    labels, clock = np.arange(12), EpochClock()
    clocked = character_streams.class_stream(images, labels, 4, seed=3, clock=clock)
    plain = character_streams.class_stream(images, labels, 4, seed=3)
    for epoch in (0, 1, 2):
        clock.on_epoch_begin(epoch)
        for (a, label_a), (b, label_b) in zip(clocked, plain):
            assert np.array_equal(a.numpy(), b.numpy()) and np.array_equal(label_a, label_b)


def test_a_clocked_embedding_pair_stream_repeats_an_epoch_it_is_sent_back_to():
    bank, labels = np.eye(6, dtype=np.float32), np.arange(6) % 3
    clock = EpochClock()
    stream = character_streams.embedding_pair_stream(bank, labels, 4, 2, seed=1, clock=clock)
    first = [left.numpy().tolist() for (left, _), _ in stream]
    clock.on_epoch_begin(1)
    second = [left.numpy().tolist() for (left, _), _ in stream]
    clock.on_epoch_begin(0)
    assert [left.numpy().tolist() for (left, _), _ in stream] == first != second
