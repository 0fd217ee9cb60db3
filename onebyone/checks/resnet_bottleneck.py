"""Checks for the `resnet-bottleneck` exercise: the bottleneck block, what it saves against a basic
block, and the inner width at which it stops saving."""

import copy
import math

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
from onebyone.checks.roles import compare_modules, kind, layers_of, pair, setting

__all__ = ["block_mults", "bottleneck", "bottleneck_break_even", "passed"]


def _conv_shape(signature):
    return dict(signature)["weight"] if kind(signature) == "conv" else None


def _explain(in_channels, mid_channels, out_channels, stride):
    """A function naming the likely structural mistake of a learner's block."""
    projected = stride != 1 or in_channels != out_channels
    projection = (out_channels, in_channels, 1, 1)
    why = "the stride is 2" if stride != 1 else "the channel count changes"

    def explain(missing, extra, learner_units):
        missing_convs = [_conv_shape(s) for s in missing if kind(s) == "conv"]
        extra_convs = [s for s in extra if kind(s) == "conv"]
        if any("bias" in dict(s) for s in extra_convs):
            return ("A convolution followed by batch norm takes bias=False: the batch norm's "
                    "shift makes a bias redundant.")
        if projected and projection in missing_convs and not extra_convs:
            return (f"Your shortcut has no projection, but {why}: the shortcut must be a 1×1 "
                    f"convolution from {in_channels} to {out_channels} channels with stride "
                    f"{stride}, then batch norm.")
        if not projected and any(_conv_shape(s) == projection for s in extra_convs):
            return ("The shape is unchanged here (stride 1, in_channels == out_channels): the "
                    "shortcut is the identity, with no projection.")
        norms = [dict(s)["running_var"][0] for s in missing if kind(s) == "norm"]
        if norms and not missing_convs and not extra_convs:
            return _missing_norm(norms, learner_units)
        return ""

    def _missing_norm(norms, learner_units):
        if out_channels in norms and projected and mid_channels != out_channels:
            # Which one is missing, the expanding convolution's or the shortcut's? Look at the
            # layer that holds the projection: does anything beside it hold a batch norm?
            convs = [u for u in learner_units if _conv_shape(u.signature) == projection]
            if len(convs) == 1 and convs[0].owner.rpartition(".")[0]:
                parent = convs[0].owner.rpartition(".")[0]
                beside = [u for u in learner_units if kind(u.signature) == "norm"
                          and u.owner.rpartition(".")[0] == parent]
                if not beside:
                    return ("Your shortcut has no batch norm: the projection is a 1×1 "
                            "convolution, then batch norm.")
                return ("Your last 1×1 convolution (the expansion) has no batch norm after it.")
            return (f"A batch norm over {out_channels} channels is missing: one follows the "
                    "expanding 1×1 convolution and one the shortcut's projection.")
        return ("Batch norm is missing: every convolution (the shortcut's projection too) is "
                "followed by batch norm.")

    return explain


def _diagnose(in_channels, mid_channels, out_channels, stride):
    """A function reading the learner's convolution settings for a likely mistake."""
    def diagnose(block):
        convs = [layer for _, layer in layers_of(block, nn.Conv2d)]
        for conv in convs:
            k, s = pair(setting(conv, "kernel_size")), pair(setting(conv, "stride"))
            if k == (3, 3) and s != (stride, stride):
                should = "downsample (stride 2)" if stride != 1 else "keep the size (stride 1)"
                return (f"your 3×3 convolution has stride {s[0]}, but the block should "
                        f"{should}: the stride sits on the 3×3 convolution.")
            if k == (3, 3) and pair(setting(conv, "padding")) != (1, 1):
                return ("your 3×3 convolution is not padded by 1, so it shrinks the map: "
                        "use padding=1.")
        for conv in convs:
            k, s = pair(setting(conv, "kernel_size")), pair(setting(conv, "stride"))
            if k == (1, 1) and s != (1, 1) and setting(conv, "out_channels") == mid_channels \
                    and setting(conv, "in_channels") == in_channels and stride != 1:
                return ("your first 1×1 convolution has the stride, as in the ResNet paper's "
                        "own models (\"v1\"); this exercise follows torchvision's layout "
                        "(\"v1.5\"): the stride sits on the 3×3 convolution (and on the "
                        "shortcut's projection).")
        return ""

    return diagnose


@learner_check
def bottleneck(Bottleneck, in_channels, mid_channels, out_channels, stride=1, size=(8, 8),
               seed=0):
    """The learner's bottleneck block against the reference, in eval() and train() mode."""
    args = (in_channels, mid_channels, out_channels, stride)
    item = f"Bottleneck{args}"
    block = construct_learner(Bottleneck, *args, item=item)
    reference = randomize_state(models.Bottleneck(*args), seed)
    x = torch.randn(3, in_channels, *size, generator=torch.Generator().manual_seed(seed + 1))

    def without(index):
        variant = copy.deepcopy(reference)
        variant.body[index] = nn.Identity()
        return variant

    def mistakes(mode):
        stride_first = copy.deepcopy(reference)  # the v1 layout, with the same weights
        stride_first.body[0].stride, stride_first.body[3].stride = (stride, stride), (1, 1)
        variants = [stride_first, without(2), without(5)]
        for variant in variants:
            variant.train(mode == "train")
        with torch.no_grad():
            body, shortcut = reference.body(x), reference.shortcut(x)
            found = [
                ("the ReLU after the addition is missing", body + shortcut),
                ("ReLU was applied before the addition, not after it",
                 torch.relu(body) + shortcut),
                ("the stride sits on the first 1×1 convolution, as in the ResNet paper's "
                 "own models (\"v1\"); this exercise follows torchvision's layout "
                 "(\"v1.5\"), which puts it on the 3×3 convolution", stride_first(x)),
                ("the ReLU after the first 1×1 convolution's batch norm is missing",
                 variants[1](x)),
                ("the ReLU after the 3×3 convolution's batch norm is missing", variants[2](x)),
            ]
            if body.shape == x.shape:
                found.append(("the shortcut was not added", torch.relu(body)))
                found.append(("the block returns the input unchanged", x))
        return [(description, value.numpy()) for description, value in found]

    compare_modules(block, reference, x, item, modes=("eval", "train"), mistakes=mistakes,
                    explain=_explain(*args), diagnose=_diagnose(*args))


def block_mults_expected(h, w, channels, mid_channels):
    """(basic block, bottleneck) multiplications on an h×w map of `channels`, stride 1."""
    basic = 2 * cost.conv_mults(h, w, channels, channels, 3)
    bottleneck = (cost.conv_mults(h, w, channels, mid_channels, 1)
                  + cost.conv_mults(h, w, mid_channels, mid_channels, 3)
                  + cost.conv_mults(h, w, mid_channels, channels, 1))
    return basic, bottleneck


@learner_check
def block_mults(block_mults, h, w, channels, mid_channels):
    """The learner's (basic block, bottleneck) multiplication counts."""
    item = f"block_mults({h}, {w}, {channels}, {mid_channels})"
    got = call_learner(block_mults, h, w, channels, mid_channels, numpy_only=False,
                       item="block_mults")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure(f"{item}: return a pair (basic, bottleneck).")
    basic, bottleneck = block_mults_expected(h, w, channels, mid_channels)
    check_equal(got[0], basic, f"{item} basic block", [
        (basic // 2, "only one 3×3 convolution was counted; a basic block has two (the notes' "
                     "8.5× compares a single layer)"),
        (basic // (h * w), "one output position was counted, not all h×w"),
    ])
    reduce_ = cost.conv_mults(h, w, channels, mid_channels, 1)
    check_equal(got[1], bottleneck, f"{item} bottleneck", [
        (bottleneck - reduce_, "one of the two 1×1 convolutions (reduce, expand) was left out"),
        (reduce_ + cost.conv_mults(h, w, channels, channels, 3) + reduce_,
         "the 3×3 convolution was counted on all channels, not on the reduced ones"),
        (bottleneck // (h * w), "one output position was counted, not all h×w"),
    ])


# --- where the bottleneck stops saving ------------------------------------------------------------


def break_even_for(channels, basic_convs=2, with_1x1=True):
    """The smallest inner width m at which a bottleneck on `channels` (1×1 to m, 3×3, 1×1 back)
    needs at least the multiplications of a basic block (`basic_convs` 3×3 convolutions):
    per position 2·C·m + 9·m² >= basic_convs·9·C²; the other arguments give known mistakes."""
    target = basic_convs * 9 * channels * channels
    mid = max(1, (math.isqrt(target // 9) if not with_1x1 else
                  (math.isqrt(channels * channels + 9 * target) - channels) // 9))
    def cost_of(m):
        return (2 * channels * m if with_1x1 else 0) + 9 * m * m
    while cost_of(mid) < target:
        mid += 1
    while mid > 1 and cost_of(mid - 1) >= target:
        mid -= 1
    return mid


@learner_check
def bottleneck_break_even(bottleneck_break_even, channels):
    """The learner's inner width at which the bottleneck stops saving multiplications."""
    item = f"bottleneck_break_even({channels})"
    got = call_learner(bottleneck_break_even, channels, numpy_only=True,
                       item="bottleneck_break_even")
    expected = break_even_for(channels)
    check_equal(got, expected, item, [
        (expected - 1, f"you returned the widest inner width that still saves ({expected - 1}); "
                       "the question asks for the first that no longer does"),
        (break_even_for(channels, basic_convs=1), "the basic block was counted with one 3×3 "
                                                  "convolution; it has two"),
        (break_even_for(channels, with_1x1=False), "the two 1×1 convolutions were left out of "
                                                   "the bottleneck's count"),
        (expected + 1, "'no longer saves' starts where the two counts are equal, not after"),
    ])
