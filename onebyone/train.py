"""A small, deterministic training loop: the same weights, losses and accuracies at every run.

Used by the global-average-pooling and ResNet chapters; nothing here is specific to one model.
"""

import contextlib

import numpy as np
import torch
from torch import nn


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
