"""Checks for the `global-average-pooling` exercise: global average pooling in NumPy, a classifier
head built on it, and its indifference to where things are in the image."""

import numpy as np
import torch

from onebyone import layers, models
from onebyone.checks.core import (
    CheckFailure,
    as_array,
    call_learner,
    compare_arrays,
    compare_modules,
    construct_learner,
    copy_state,
    forward,
    randomize_state,
)


def global_avg_pool(global_avg_pool, x):
    """The learner's NumPy global average pooling against the reference on one input."""
    x = np.array(x, dtype=float)
    n, c, h, w = x.shape
    item = f"global_avg_pool(x of shape {x.shape})"
    got = as_array(call_learner(global_avg_pool, x.copy(), numpy_only=True,
                                item="global_avg_pool"), item)
    shapes = {
        (n, h, w): "it looks like you averaged over the channels instead of over space (H, W)",
        (n, c, 1, 1): "the pooled maps kept their 1×1 spatial size; return (N, C)",
        (c,): "the batch was averaged too; keep one row per sample",
    }
    if got.shape != (n, c) and got.shape in shapes:
        raise CheckFailure(f"{item}: expected shape {(n, c)}, got {got.shape}: "
                           f"{shapes[got.shape]}.")
    compare_arrays(got, layers.global_avg_pool(x), item, mistakes=[
        ("each map was summed instead of averaged", x.sum(axis=(2, 3))),
        ("the maximum of each map was taken (max pooling), not the average",
         x.max(axis=(2, 3))),
        ("only the first row of each map was averaged", x[:, :, 0, :].mean(axis=2)),
    ])


def _head_hint(want, got):
    if len(got) == 2 and len(got[0]) == 2:
        return ("Your weight is 2-D, a Linear layer's; the head uses a 1×1 Conv2d, whose weight "
                "is (num_classes, in_channels, 1, 1).")
    if len(got) == 1:
        return "The 1×1 convolution needs its bias (bias=True, the default)."
    return ""


def gap_head(GAPHead, in_channels, num_classes, size=(5, 6), seed=0):
    """The learner's GAPHead against the reference: structure and logits."""
    item = f"GAPHead({in_channels}, {num_classes})"
    head = construct_learner(GAPHead, in_channels, num_classes, item=item)
    reference = randomize_state(models.GAPHead(in_channels, num_classes), seed)
    x = torch.randn(2, in_channels, *size, generator=torch.Generator().manual_seed(seed + 1))

    def mistakes(mode):
        with torch.no_grad():
            maps = reference.class_maps(x)  # (N, K, H, W)
        return [("the maps were max-pooled, not averaged", maps.amax(dim=(2, 3)).numpy()),
                ("a ReLU was applied to the class maps; the head returns raw logits",
                 torch.relu(maps).mean(dim=(2, 3)).numpy()),
                ("the maps were summed, not averaged", maps.sum(dim=(2, 3)).numpy())]

    compare_modules(head, reference, x, item, mistakes=mistakes, hint=_head_hint)


def permute_positions(permute_positions, x, seed):
    """The learner's shuffle of the spatial positions against the reference."""
    x = np.array(x, dtype=float)
    n, c, h, w = x.shape
    item = f"permute_positions(x of shape {x.shape}, seed={seed})"
    got = call_learner(permute_positions, x.copy(), seed, numpy_only=True,
                       item="permute_positions")
    perm = np.random.default_rng(seed).permutation(h * w)
    flat = x.reshape(n, c, h * w)  # (N, C, H, W) -> (N, C, H*W)
    inverse = np.empty_like(flat)
    inverse[:, :, perm] = flat  # out.flat[perm[i]] = x.flat[i]: the inverse shuffle
    mistakes = [("the inverse permutation was applied: out.flat[perm[i]] = x.flat[i]",
                 inverse.reshape(n, c, h, w))]
    if h == w:
        mistakes.append(("rows and columns were swapped",
                         layers.permute_positions(x.transpose(0, 1, 3, 2), seed)))
    compare_arrays(got, layers.permute_positions(x, seed), item, mistakes=mistakes)


def invariance(global_avg_pool, GAPHead, x, seeds, num_classes=3):
    """The property: the learner's pooling and head give the same answer on shuffled positions."""
    x = np.array(x, dtype=float)
    n, c, h, w = x.shape
    before = as_array(call_learner(global_avg_pool, x.copy(), numpy_only=True,
                                   item="global_avg_pool"), "global_avg_pool(x)")
    item = f"GAPHead({c}, {num_classes})"
    head = construct_learner(GAPHead, c, num_classes, item=item)
    copy_state(randomize_state(models.GAPHead(c, num_classes), seeds[0]), head, item,
               hint=_head_hint)
    logits = forward(head, torch.from_numpy(x).float(), item)
    for seed in seeds:
        shuffled = layers.permute_positions(x, seed)
        after = call_learner(global_avg_pool, shuffled.copy(), numpy_only=True,
                             item="global_avg_pool")
        compare_arrays(after, before, f"global_avg_pool of x with its positions shuffled "
                       f"(seed {seed}) against global_avg_pool(x): they should be equal")
        compare_arrays(forward(head, torch.from_numpy(shuffled).float(), item), logits,
                       f"{item} on x with its positions shuffled (seed {seed}) against {item} "
                       "on x: the logits should be equal", atol=1e-5, rtol=1e-4)
