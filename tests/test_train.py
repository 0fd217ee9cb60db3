"""The training loop: repeatable, and it learns."""

import numpy as np
import pytest
import torch

from onebyone import data, models, timing, train


def _tiny_run(seed):
    images, labels, _ = data.shapes(0, 96)
    with train.deterministic(seed):
        net = models.ShapeNet(4, "gap", width=8)
        losses = train.fit(net, images, labels, epochs=2, batch_size=32, seed=seed)
    return net, losses


def test_training_is_deterministic():
    """The same seed gives the same losses and the same weights, bit for bit."""
    net_a, losses_a = _tiny_run(0)
    net_b, losses_b = _tiny_run(0)
    net_c, losses_c = _tiny_run(1)
    assert losses_a == losses_b
    for a, b in zip(net_a.state_dict().values(), net_b.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert losses_a != losses_c


def test_deterministic_restores_settings():
    threads = torch.get_num_threads()
    with train.deterministic(0, threads=1):
        assert torch.are_deterministic_algorithms_enabled()
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


def test_fit_lowers_the_loss_and_accuracy_counts_right():
    images, labels, _ = data.shapes(1, 256)
    with train.deterministic(0):
        net = models.ShapeNet(4, "gap", width=16)
        losses = train.fit(net, images, labels, epochs=3)
    assert losses[-1] < losses[0]
    predictions = train.predict(net, images)
    assert train.accuracy(net, images, labels) == pytest.approx(np.mean(predictions == labels))


def test_fit_refuses_mismatched_labels():
    images, labels, _ = data.shapes(0, 8)
    with pytest.raises(ValueError, match="labels"):
        train.fit(models.ShapeNet(4), images, labels[:5])


def test_timing_refuses_zero_repeats():
    with pytest.raises(ValueError):
        timing.median_seconds(torch.nn.Identity(), torch.zeros(1), repeat=0)


def test_gap_net_runs_on_larger_images_but_loses_accuracy():
    """The GAP chapter's "Any input size": the net trained there (24×24 images, shapes in columns
    0-5) answers on 40×40 images, but its accuracy falls far below what it scores on 24×24 images
    with the shapes anywhere, and on background alone it gives one class almost always."""
    images, labels, _ = data.shapes(0, 1000, size=24, x_range=(0, 5))
    with train.deterministic(0):
        net = models.ShapeNet(4, "gap", image_size=24)
        train.fit(net, images, labels, epochs=3, batch_size=32, lr=5e-3, seed=0)
    same = train.accuracy(net, *data.shapes(5, 400, size=24, x_range=(0, 17))[:2])
    big = train.accuracy(net, *data.shapes(7, 400, size=40, x_range=(0, 33))[:2])
    assert same > 0.85 and big < same - 0.3
    noise = 0.1 * data.rng(8).normal(size=(400, 1, 40, 40))
    assert np.bincount(train.predict(net, noise)).max() > 0.9 * 400
