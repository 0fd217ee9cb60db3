"""A small, deterministic training loop: the same weights, losses and accuracies at every run.

Used by the chapters' experiments; nothing here is specific to one model.
"""

import contextlib

import numpy as np
import torch
from torch import nn

from onebyone import data


@contextlib.contextmanager
def deterministic(seed, threads=1):
    """Seed torch, use deterministic kernels and a fixed number of threads inside the block.

    The thread count matters: a sum split over more threads is added in another order, and
    floating-point addition is not associative. The previous settings are restored on exit.
    """
    old_threads = torch.get_num_threads()
    old_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old_deterministic)
        torch.set_num_threads(old_threads)


def fit(model, images, labels, epochs=4, batch_size=32, lr=3e-3, seed=0, per_batch=False,
        anneal=False):
    """Train `model` with Adam and cross-entropy on (images, labels); return the loss per epoch
    (the mean over the epoch's images), or with `per_batch` the loss of every batch in order.

    With `anneal`, the learning rate falls from `lr` to 0 along a half cosine over the run, so the
    last steps are small and the weights (and batch-norm statistics) settle.

    images: array or tensor (N, C, H, W); labels: (N,) class indices. The batches are shuffled
    with a generator seeded by `seed`, so the run is repeatable.
    """
    x = torch.as_tensor(images, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.int64)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    order = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * -(-len(x) // batch_size)  # batches per epoch, rounded up
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps) if anneal else None
    loss_fn = nn.CrossEntropyLoss()
    epoch_losses, batch_losses = [], []
    model.train()
    for _ in range(epochs):
        total = 0.0
        for batch in torch.randperm(len(x), generator=order).split(batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
            batch_losses.append(loss.item())
            total += loss.item() * len(batch)
        epoch_losses.append(total / len(x))
    return batch_losses if per_batch else epoch_losses


def predict(model, images, batch_size=256):
    """Class predictions (N,) of `model` on images (N, C, H, W), in evaluation mode."""
    x = torch.as_tensor(images, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        scores = torch.cat([model(chunk) for chunk in x.split(batch_size)])  # (N, classes)
    return scores.argmax(dim=1).numpy()


def accuracy(model, images, labels):
    """The fraction of images whose predicted class is the label."""
    return float(np.mean(predict(model, images) == np.asarray(labels)))


def digit_runs(build, seeds, epochs=3, batch_size=32, lr=5e-3):
    """Train a fresh `build()` on the bundled 8×8 digits once per seed; return each run's
    accuracy on the held-out third.

    The split is the same for every seed (data.split_digits(0, ...)); the seed sets the initial
    weights and the order of the batches. Inputs (N, 1, 8, 8), scaled so the training pixels have
    standard deviation 1. This is the chapters' "vary one thing" experiment: the reader changes
    `build` and compares.
    """
    images, labels = data.digits()                          # (1797, 8, 8), (1797,)
    train_idx, test_idx = data.split_digits(0, n_test=len(labels) // 3)
    x = images[:, None] / images[train_idx].std()           # (N, 8, 8) -> (N, 1, 8, 8)
    accuracies = []
    for seed in seeds:
        with deterministic(seed):
            model = build()
            fit(model, x[train_idx], labels[train_idx], epochs=epochs, batch_size=batch_size,
                lr=lr, seed=seed)
            accuracies.append(accuracy(model, x[test_idx], labels[test_idx]))
    return accuracies
