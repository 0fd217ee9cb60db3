"""Checks for the `global-average-pooling` exercise: global average pooling in NumPy, a classifier
head built on it, its indifference to where things are in the image, and the same head written
as a fully connected layer."""

import numpy as np
import torch

from onebyone import layers, models
from onebyone.checks.core import (
    CheckFailure,
    as_array,
    call_learner,
    compare_arrays,
    construct_learner,
    forward,
    learner_check,
    passed,
    randomize_state,
)
from onebyone.checks.roles import compare_modules, kind, match

__all__ = ["gap_as_fc", "gap_head", "global_avg_pool", "invariance", "passed",
           "permute_positions"]


@learner_check
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


def _head_explain(missing, extra, learner_units):
    kinds = [kind(u.signature) for u in learner_units]
    if "linear" in kinds:
        return ("Your head holds a Linear layer; it uses a 1×1 Conv2d, whose weight is "
                "(num_classes, in_channels, 1, 1), to make one map per class before pooling.")
    if kinds == ["conv"] and "bias" not in dict(learner_units[0].signature):
        return "The 1×1 convolution needs its bias (bias=True, the default)."
    return ""


@learner_check
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

    compare_modules(head, reference, x, item, mistakes=mistakes, explain=_head_explain)


@learner_check
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


@learner_check
def invariance(global_avg_pool, GAPHead, x, seeds, num_classes=3):
    """The property: the learner's pooling and head give the same answer on shuffled positions."""
    x = np.array(x, dtype=float)
    n, c, h, w = x.shape
    before = as_array(call_learner(global_avg_pool, x.copy(), numpy_only=True,
                                   item="global_avg_pool"), "global_avg_pool(x)")
    item = f"GAPHead({c}, {num_classes})"
    head = construct_learner(GAPHead, c, num_classes, item=item)
    match(randomize_state(models.GAPHead(c, num_classes), seeds[0]), head,
          torch.from_numpy(x).float(), item, explain=_head_explain)
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


def gap_as_fc_expected(weight, bias, h, w):
    """The GAP head (a 1×1 convolution with `weight` (K, C) and `bias` (K,), then the mean over
    h×w positions) as one Linear layer on the flattened maps: every position gets the class's
    channel weights divided by h·w; the bias is added once."""
    k, c = weight.shape
    per_position = np.repeat(weight[:, :, None] / (h * w), h * w, axis=2)  # (K, C, H*W)
    return per_position.reshape(k, c * h * w), bias.copy()  # (K, C, H*W) -> (K, C*H*W)


@learner_check
def gap_as_fc(gap_as_fc, weight, bias, h, w, seed=0):
    """The learner's (fc_weight, fc_bias), then what it means: the Linear layer on flattened
    maps gives the GAP head's logits, and keeps them when the positions are shuffled."""
    weight, bias = np.array(weight, dtype=float), np.array(bias, dtype=float)
    k, c = weight.shape
    item = f"gap_as_fc(weight of shape {weight.shape}, bias, h={h}, w={w})"
    got = call_learner(gap_as_fc, weight.copy(), bias.copy(), h, w, numpy_only=True,
                       item="gap_as_fc")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure(f"{item}: return a pair (fc_weight, fc_bias).")
    want_weight, want_bias = gap_as_fc_expected(weight, bias, h, w)
    position_major = np.tile(weight / (h * w), (1, h * w))  # (K, H*W*C): positions outermost
    mistakes = [("the weights were not divided by H·W: a mean is the sum divided by the number "
                 "of positions", want_weight * (h * w))]
    if h * w > 1 and c > 1:
        mistakes.append(("the weights are laid out position by position (H, W, C); flattening "
                         "NCHW maps puts the channel first: index c·H·W + i·W + j",
                         position_major))
    compare_arrays(got[0], want_weight, f"{item}: fc_weight", mistakes=mistakes)
    compare_arrays(got[1], want_bias, f"{item}: fc_bias", mistakes=[
        ("the bias was divided by H·W too: it is added once, after the mean", bias / (h * w)),
    ])
    # What it means: the same logits as the GAP head, before and after shuffling positions.
    x = np.random.default_rng(seed).normal(size=(3, c, h, w))
    gap = x.mean(axis=(2, 3)) @ weight.T + bias
    for shuffled in (x, layers.permute_positions(x, seed)):
        fc = shuffled.reshape(3, c * h * w) @ np.asarray(got[0], dtype=float).T + got[1]
        compare_arrays(fc, gap, f"{item}: your Linear layer on the flattened maps against the "
                       "GAP head")
