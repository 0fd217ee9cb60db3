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


def _digits_run(seed, residual=True):
    """One short training run of the ResNet chapter's kind on 200 real digits."""
    images, labels = data.digits()
    x = images[:200, None]  # (200, 8, 8) -> (200, 1, 8, 8)
    with train.deterministic(seed):
        net = models.stacked_net(2, residual, width=4)
        losses = train.fit(net, x, labels[:200], epochs=2, batch_size=50, seed=seed,
                           per_batch=True, anneal=True)
    return net, losses


def test_a_digits_run_is_deterministic():
    """Twice the same short run on real digits: the same losses and weights, bit for bit."""
    net_a, losses_a = _digits_run(0)
    net_b, losses_b = _digits_run(0)
    assert losses_a == losses_b
    for a, b in zip(net_a.state_dict().values(), net_b.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert _digits_run(1)[1] != losses_a


def test_per_batch_losses_average_to_the_epoch_losses():
    """One loss per batch, in order; weighted by batch size they give the per-epoch means."""
    images, labels, _ = data.shapes(2, 70)
    runs = []
    for per_batch in (False, True):
        with train.deterministic(0):
            net = models.ShapeNet(4, "gap", width=8)
            runs.append(train.fit(net, images, labels, epochs=2, batch_size=32,
                                  per_batch=per_batch))
    by_epoch, by_batch = runs
    sizes = [32, 32, 6]  # 70 images in batches of 32
    assert len(by_batch) == 2 * len(sizes)
    for epoch in range(2):
        chunk = by_batch[epoch * 3:(epoch + 1) * 3]
        mean = sum(loss * n for loss, n in zip(chunk, sizes)) / 70
        assert mean == pytest.approx(by_epoch[epoch])


def test_annealing_takes_the_learning_rate_to_zero(monkeypatch):
    """With anneal, the last step is taken at a learning rate of (almost) zero."""
    seen = []
    step = torch.optim.Adam.step

    def record(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", record)
    images, labels, _ = data.shapes(0, 64)
    train.fit(models.ShapeNet(4, width=8), images, labels, epochs=2, batch_size=16, lr=0.01,
              anneal=True)
    assert seen[0] == pytest.approx(0.01) and len(seen) == 8
    assert seen == sorted(seen, reverse=True) and seen[-1] < 0.01 * 0.05
    seen.clear()
    train.fit(models.ShapeNet(4, width=8), images, labels, epochs=2, batch_size=16, lr=0.01)
    assert seen == [pytest.approx(0.01)] * 8


def test_digit_runs_is_the_fit_loop_once_per_seed():
    """digit_runs gives, per seed, what a hand-written split, fit and accuracy give, and the
    same numbers when run again."""
    def build():
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))

    runs = train.digit_runs(build, seeds=(3, 4), epochs=1)
    assert runs == train.digit_runs(build, seeds=(3, 4), epochs=1)
    images, labels = data.digits()
    train_idx, test_idx = data.split_digits(0, n_test=len(labels) // 3)
    x = images[:, None] / images[train_idx].std()
    by_hand = []
    for seed in (3, 4):
        with train.deterministic(seed):
            net = build()
            train.fit(net, x[train_idx], labels[train_idx], epochs=1, lr=5e-3, seed=seed)
            by_hand.append(train.accuracy(net, x[test_idx], labels[test_idx]))
    assert runs == by_hand
    assert runs[0] != runs[1] and all(a > 0.5 for a in runs)  # it learns, seeds differ
