"""Checks for the `global-average-pooling` exercise: the GAP head written as one fully connected
layer, the same head with the pooling first (as torchvision's ResNet, ShuffleNetV2 and
MobileNetV3 heads do), and how early the mean can go in a head that has more layers.

The reference's outputs come from `reference("global-average-pooling")` (reference.py); the
pool-first item needs none: the head the learner is given is its own reference.
"""

import numpy as np
import torch
from torch import nn

from onebyone import layers
from onebyone.checks.core import (
    CheckFailure,
    call_learner,
    check_copied,
    compare_arrays,
    forward,
    learner_check,
    passed,
    randomize_state,
)
from onebyone.checks.messages import _
from onebyone.checks.reference import reference

__all__ = ["earliest_mean", "gap_as_fc", "passed", "pool_first"]
ASSIGNMENT = "global-average-pooling"
LAYERS = ("conv1x1", "conv3x3", "batchnorm", "relu", "dropout", "maxpool3x3")


@learner_check
def gap_as_fc(gap_as_fc, weight, bias, h, w, seed=0):
    """The learner's (fc_weight, fc_bias), then what it means: the Linear layer on flattened
    maps gives the GAP head's logits, and keeps them when the positions are shuffled."""
    weight, bias = np.array(weight, dtype=float), np.array(bias, dtype=float)
    k, c = weight.shape
    item = _("gap_as_fc(weight of shape {shape}, bias, h={h}, w={w})").format(
        shape=weight.shape, h=h, w=w)
    want_weight, want_bias = reference(ASSIGNMENT)("gap_as_fc", weight, bias, h, w)
    mistakes = [(_("the weights are H·W times too large: the logits are a mean over the "
                   "positions, not a sum"), want_weight * (h * w))]
    if h * w > 1 and c > 1:  # the same numbers laid out position by position
        by_position = want_weight.reshape(k, c, h * w).transpose(0, 2, 1).reshape(k, -1)
        mistakes.append((_("the weights are laid out position by position; x.reshape(N, -1) "
                           "on NCHW maps runs through the channels slowest"), by_position))
    got = call_learner(gap_as_fc, weight.copy(), bias.copy(), h, w, numpy_only=True,
                       item="gap_as_fc")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure(_("{item}: return a pair (fc_weight, fc_bias).").format(item=item))
    compare_arrays(got[0], want_weight, f"{item}: fc_weight", mistakes=mistakes)
    compare_arrays(got[1], want_bias, f"{item}: fc_bias", mistakes=[
        (_("the bias was scaled with the weights: it is added once, after the mean"),
         bias / (h * w))] if h * w > 1 else [])
    # What it means: the same logits as the GAP head, before and after shuffling positions.
    x = np.random.default_rng(seed).normal(size=(3, c, h, w))
    gap = x.mean(axis=(2, 3)) @ weight.T + bias
    for shuffled in (x, layers.permute_positions(x, seed)):
        fc = shuffled.reshape(3, c * h * w) @ np.asarray(got[0], dtype=float).T + got[1]
        compare_arrays(fc, gap, _("{item}: your Linear layer on the flattened maps against the "
                                  "GAP head").format(item=item))


# --- the same head, pooling first --------------------------------------------------------------


@learner_check
def pool_first(pool_first, in_channels, num_classes, size=(5, 4), seed=0):
    """The learner's Linear, applied to the mean of each map, must give what the given head
    (a 1×1 convolution to the classes, then the mean of each class map) gives."""
    conv = randomize_state(nn.Conv2d(in_channels, num_classes, 1), seed)
    before = {k: v.clone() for k, v in conv.state_dict().items()}
    x = torch.from_numpy(np.random.default_rng(seed).normal(size=(3, in_channels, *size)))
    with torch.no_grad():
        want = conv(x.float()).mean(dim=(2, 3)).double().numpy()  # (N, K, H, W) -> (N, K)
    item = f"pool_first(Conv2d({in_channels}, {num_classes}, 1))"
    linear = call_learner(pool_first, conv, numpy_only=False, item="pool_first")
    if not isinstance(linear, nn.Linear):
        raise CheckFailure(_("{item} returned a {kind}; expected a {expected}.").format(
            item=item, kind=type(linear).__name__, expected="torch.nn.Linear"))
    if any(not torch.equal(before[k], v) for k, v in conv.state_dict().items()):
        raise CheckFailure(_("{item} changed the convolution; leave it untouched.").format(
            item=item))
    if "bias" not in linear.state_dict():
        raise CheckFailure(_("{item}: your Linear has no bias; the head's convolution has one."
                             ).format(item=item))
    pooled = x.mean(dim=(2, 3)).float()  # (N, C, H, W) -> (N, C)
    without_bias = want - conv.bias.detach().double().numpy()
    compare_arrays(forward(linear, pooled, item), want,
                   _("{item} on the pooled features against the head on the maps").format(
                       item=item),
                   mistakes=[(_("the convolution's bias did not make it into the Linear"),
                              without_bias)], atol=1e-5, rtol=1e-4)
    check_copied(conv, linear, item)


# --- how early can the mean go? -----------------------------------------------------------------


@learner_check
def earliest_mean(earliest_mean, head):
    """The learner's earliest place for the mean in a head (a list of layer names)."""
    head = [str(name) for name in head]
    unknown = [name for name in head if name not in LAYERS]
    if unknown:
        raise ValueError(f"unknown layers {unknown}")
    want = reference(ASSIGNMENT)("earliest_mean", head)
    got = call_learner(earliest_mean, list(head), numpy_only=True, item="earliest_mean")
    item = f"earliest_mean({head})"
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        raise CheckFailure(_("{item}: return a whole number, an index into the list.").format(
            item=item))
    if not 0 <= int(got) <= len(head):
        raise CheckFailure(_("{item}: the mean goes before one of the {count} layers or after "
                             "the last: an index from 0 to {count}; yours is {answer}.").format(
            item=item, count=len(head), answer=int(got)))
    if int(got) < want:
        raise CheckFailure(_("{item}: the mean cannot go that early: a layer after your place "
                             "does not let the mean pass it unchanged.").format(item=item))
    if int(got) > want:
        raise CheckFailure(_("{item}: the mean can go earlier than that: look again at what "
                             "each layer does to one position and to its neighbours.").format(
            item=item))
