"""Checks for the `network-in-network` exercise: the mlpconv block, the NiN network, and what its
global-average-pooling head saves against a fully connected head."""

import functools

import torch
from torch import nn

from onebyone import cost, models
from onebyone.checks.core import (
    CheckFailure,
    call_learner,
    check_equal,
    compare_modules,
    construct_learner,
    randomize_state,
)


def _mlpconv_hint(want, got):
    """A guess at why the learner's mlpconv holds other tensors than the reference's."""
    weights = [s for s in got if len(s) == 4]
    if len(got) == len(weights):
        return "The convolutions need their biases (bias=True, the default)."
    if len(weights) != 3:
        return f"An mlpconv block has three convolutions; yours has {len(weights)}."
    if weights[1][2:] != (1, 1) or weights[2][2:] != (1, 1):
        return "The second and third convolutions are 1×1: only the first one is k×k."
    if weights[0][:2] != want[0][:2]:
        return "The first convolution maps in_channels to out_channels."
    return ""


def mlpconv(mlpconv, in_channels, out_channels, kernel_size, stride=1, padding=0, size=(9, 9),
            seed=0):
    """The learner's mlpconv block against the reference on one random input."""
    args = (in_channels, out_channels, kernel_size, stride, padding)
    item = f"mlpconv{args}"
    block = construct_learner(mlpconv, *args, item=item, expected=nn.Sequential)
    reference = randomize_state(models.mlpconv(*args), seed)
    x = torch.randn(2, in_channels, *size, generator=torch.Generator().manual_seed(seed + 1))

    def mistakes(mode):
        with torch.no_grad():
            return [("the last ReLU is missing: every convolution, the last one too, is followed "
                     "by a ReLU", reference[:-1](x).numpy()),
                    ("the ReLU after the first convolution is missing",
                     reference[3:](reference[0](x)).numpy())]

    compare_modules(block, reference, x, item, mistakes=mistakes, hint=_mlpconv_hint)


def _nin_input(in_channels, seed, size):
    return torch.randn(2, in_channels, size, size, generator=torch.Generator().manual_seed(seed))


def nin(nin, num_classes, in_channels=3, size=99, seed=0):
    """The learner's NiN against the reference: same layers, same output on a random image."""
    item = f"nin({num_classes}, in_channels={in_channels})"
    network = construct_learner(nin, num_classes, in_channels, item=item, expected=nn.Module)
    reference = randomize_state(models.nin(num_classes, in_channels), seed).eval()
    x = _nin_input(in_channels, seed + 1, size)

    def mistakes(mode):
        with torch.no_grad():
            maps = reference[:-2](x)  # (N, num_classes, h, w): the last block's class maps
        return [("the last step takes the maximum of each map instead of its average",
                 maps.amax(dim=(2, 3)).numpy())]

    def hint(want, got):
        weights = [s for s in got if len(s) == 4]
        if len(weights) != 12:
            return (f"NiN has four mlpconv blocks of three convolutions each (12); yours has "
                    f"{len(weights)} convolutions.")
        if weights[-1][0] != num_classes:
            return "The last mlpconv block must produce num_classes maps: one per class."
        return ""

    compare_modules(network, reference, x, item, mistakes=mistakes, hint=hint)


@functools.cache
def _features_before_head(in_channels=3, size=224):
    """Shape (C, H, W) of what the third max-pool of NiN hands to the classification head."""
    body = models.nin(10, in_channels)[:6]  # three mlpconv blocks, each with its max-pool
    with torch.no_grad():
        return tuple(body(torch.zeros(1, in_channels, size, size)).shape[1:])


@functools.cache
def nin_vs_fc_expected(num_classes):
    """The reference answer, with the numbers that name mistakes: {name: count}."""
    network = models.nin(num_classes)
    nin_params = cost.total_params(network)
    last_block = cost.total_params(network[7])  # the mlpconv block that makes the class maps
    c, h, w = _features_before_head()
    head = (cost.linear_params(c * h * w, 4096) + cost.linear_params(4096, 4096)
            + cost.linear_params(4096, num_classes))
    biases = sum(p.numel() for name, p in network.named_parameters() if name.endswith("bias"))
    return {"nin": nin_params, "fc": nin_params - last_block + head, "last_block": last_block,
            "features": (c, h, w), "nin_biases": biases, "fc_biases": 4096 + 4096 + num_classes}


def nin_vs_fc(nin_vs_fc, num_classes):
    """The learner's pair (NiN's parameters, the fully connected variant's parameters)."""
    item = f"nin_vs_fc({num_classes})"
    got = call_learner(nin_vs_fc, num_classes, numpy_only=False, item="nin_vs_fc")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure(f"{item}: return a pair (nin_params, fc_params).")
    expected = nin_vs_fc_expected(num_classes)
    nin_params, fc_params, last_block = expected["nin"], expected["fc"], expected["last_block"]
    c, h, w = expected["features"]
    check_equal(got[0], nin_params, f"{item} NiN parameters", [
        (nin_params - expected["nin_biases"], "the biases were left out"),
    ])
    check_equal(got[1], fc_params, f"{item} parameters with the fully connected head", [
        (fc_params - expected["fc_biases"], "the fully connected layers' biases were left out"),
        (fc_params + last_block, "the last mlpconv block was kept: the fully connected head "
                                 "replaces it and the global average pooling"),
        (fc_params + c * ((h + 1) * (w + 1) - h * w) * 4096,
         f"the flattened map was taken as {c}×{h + 1}×{w + 1}; run your network's first layers "
         "on a 224×224 image to see its size"),
        (fc_params - nin_params + last_block, "you counted the head alone, not the whole network"),
    ])
