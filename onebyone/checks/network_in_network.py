"""Checks for the `network-in-network` exercise: the mlpconv block, the NiN network, what its
global-average-pooling head saves against a fully connected head, and the receptive field of a
stack of layers (which 1×1 layers do not widen)."""

import functools

import torch
from torch import nn

from onebyone import cost, models
from onebyone.checks.core import (
    CheckFailure,
    call_learner,
    check_equal,
    construct_learner,
    learner_check,
    passed,
    randomize_state,
)
from onebyone.checks.roles import compare_modules, kind, layers_of, pair, setting, shown

__all__ = ["mlpconv", "nin", "nin_vs_fc", "passed", "receptive_field"]


def _convs(counter):
    return [dict(sig)["weight"] for sig in counter.elements() if kind(sig) == "conv"]


def _mlpconv_explain(missing, extra, learner_units):
    """A guess at why the learner's mlpconv holds other layers than it needs."""
    got = [dict(u.signature) for u in learner_units if kind(u.signature) == "conv"]
    if got and any("bias" not in conv for conv in got):
        return "Every convolution keeps its bias (bias=True, the default)."
    if len(got) != 3:
        return f"An mlpconv block has three convolutions; yours has {len(got)}."
    kernels = sorted(conv["weight"][2:] for conv in got)
    if kernels.count((1, 1)) != 2:
        return "The second and third convolutions are 1×1: only the first one is k×k."
    return ""


def _mlpconv_diagnose(kernel_size, stride, padding):
    def diagnose(block):
        for _, conv in layers_of(block, nn.Conv2d):
            if pair(setting(conv, "kernel_size")) != (kernel_size, kernel_size):
                continue
            if pair(setting(conv, "padding")) != (padding, padding):
                return (f"your {kernel_size}×{kernel_size} convolution has padding "
                        f"{shown(setting(conv, 'padding'))}; it takes the block's padding "
                        f"({padding}).")
            if pair(setting(conv, "stride")) != (stride, stride):
                return (f"your {kernel_size}×{kernel_size} convolution has stride "
                        f"{shown(setting(conv, 'stride'))}; it takes the block's stride "
                        f"({stride}).")
        return ""

    return diagnose


@learner_check
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
                     reference[2:](reference[0](x)).numpy()),
                    ("the ReLU after the second convolution is missing",
                     reference[4:](reference[:3](x)).numpy())]

    compare_modules(block, reference, x, item, mistakes=mistakes, explain=_mlpconv_explain,
                    diagnose=_mlpconv_diagnose(kernel_size, stride, padding))


def _nin_input(in_channels, seed, size):
    return torch.randn(2, in_channels, size, size, generator=torch.Generator().manual_seed(seed))


@learner_check
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

    def explain(missing, extra, learner_units):
        convs = [dict(u.signature)["weight"] for u in learner_units
                 if kind(u.signature) == "conv"]
        if len(convs) != 12:
            return (f"NiN has four mlpconv blocks of three convolutions each (12); yours has "
                    f"{len(convs)} convolutions.")
        if not any(shape[0] == num_classes for shape in convs[-3:]):
            return "The last mlpconv block must produce num_classes maps: one per class."
        return ""

    def diagnose(network):
        for _, pool in layers_of(network, nn.MaxPool2d):
            k, s = pair(setting(pool, "kernel_size")), pair(setting(pool, "stride"))
            if (k, s) != ((3, 3), (2, 2)):
                return (f"your max pooling has a {k[0]}×{k[1]} window and stride {s[0]}; NiN "
                        "pools 3×3 windows with stride 2.")
        paddings = {(5, 5): 2, (3, 3): 1}  # the blocks' "same" convolutions
        for _, conv in layers_of(network, nn.Conv2d):
            k = pair(setting(conv, "kernel_size"))
            if k in paddings and pair(setting(conv, "padding")) != (paddings[k],) * 2:
                return (f"your {k[0]}×{k[1]} convolution has padding "
                        f"{shown(setting(conv, 'padding'))}; NiN pads it by {paddings[k]}.")
        return ""

    compare_modules(network, reference, x, item, mistakes=mistakes, explain=explain,
                    diagnose=diagnose)


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


@learner_check
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


def receptive_field_expected(layers):
    """The side of the input window one output position of the last layer sees: each layer
    widens it by (k - 1) times the input pixels between neighbouring positions before it
    (the product of the strides so far). tests/test_checks.py checks it with torch gradients."""
    size, step = 1, 1
    for k, stride in layers:
        size += (k - 1) * step
        step *= stride
    return size


@learner_check
def receptive_field(receptive_field, layers):
    """The learner's receptive field of a stack of (kernel, stride) layers."""
    layers = [(int(k), int(s)) for k, s in layers]
    item = f"receptive_field({layers})"
    got = call_learner(receptive_field, [tuple(layer) for layer in layers], numpy_only=True,
                       item="receptive_field")
    expected = receptive_field_expected(layers)
    step_after = 1  # what the layers give when each layer's stride is applied to itself
    wrong_order = 1
    for k, stride in layers:
        step_after *= stride
        wrong_order += (k - 1) * step_after
    product = 1
    for k, _ in layers:
        product *= k
    check_equal(got, expected, item, [
        (1 + sum(k - 1 for k, _ in layers), "the strides were ignored: after a stride-s layer, "
         "one step of the next layer covers s input pixels, so its kernel reaches further"),
        (wrong_order, "each layer's own stride was applied to its own kernel; a stride only "
         "spreads the positions of the layers after it"),
        (product, "the kernel sizes were multiplied; a k×k layer widens the window by k - 1 "
         "steps, it does not multiply it"),
        (sum(k for k, _ in layers), "the kernel sizes were added; each layer widens the window "
         "by k - 1 steps of the layer before"),
    ])
