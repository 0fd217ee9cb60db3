"""Checks for the `resnet-bottleneck` exercise: the bottleneck block, and what it saves against a
basic block."""

import copy

import torch

from onebyone import cost, models
from onebyone.checks.core import (
    CheckFailure,
    call_learner,
    check_equal,
    compare_modules,
    construct_learner,
    randomize_state,
)


def _bottleneck_hint(in_channels, out_channels, stride):
    """A function guessing why the learner's block holds other tensors than the reference's."""
    projected = stride != 1 or in_channels != out_channels

    def hint(want, got):
        convs_want = sum(len(s) == 4 for s in want)
        convs_got = sum(len(s) == 4 for s in got)
        norms_want = sum(s == () for s in want)  # one num_batches_tracked per batch norm
        norms_got = sum(s == () for s in got)
        if convs_got == convs_want - 1 and projected:
            why = "stride is 2" if stride != 1 else "the channel count changes"
            return (f"The shortcut needs a projection when {why}: a 1×1 convolution with "
                    "that stride, then batch norm.")
        if convs_got == convs_want + 1 and not projected:
            return ("When the shape is unchanged (stride 1, in_channels == out_channels) the "
                    "shortcut is the identity, with no projection.")
        if norms_got < norms_want:
            return (f"Batch norm is missing: the reference has {norms_want} (one after each "
                    f"convolution, the projection's too); yours has {norms_got}.")
        if len(got) > len(want) and convs_got == convs_want:
            return ("A convolution followed by batch norm takes bias=False: the batch norm's "
                    "shift makes a bias redundant.")
        return ""

    return hint


def bottleneck(Bottleneck, in_channels, mid_channels, out_channels, stride=1, size=(8, 8),
               seed=0):
    """The learner's bottleneck block against the reference, in eval() and train() mode."""
    args = (in_channels, mid_channels, out_channels, stride)
    item = f"Bottleneck{args}"
    block = construct_learner(Bottleneck, *args, item=item)
    reference = randomize_state(models.Bottleneck(*args), seed)
    x = torch.randn(3, in_channels, *size, generator=torch.Generator().manual_seed(seed + 1))

    def mistakes(mode):
        stride_first = copy.deepcopy(reference)
        stride_first.body[0].stride, stride_first.body[3].stride = (stride, stride), (1, 1)
        with torch.no_grad():
            body, shortcut = reference.body(x), reference.shortcut(x)
            found = [
                ("the ReLU after the addition is missing", body + shortcut),
                ("ReLU was applied before the addition, not after it",
                 torch.relu(body) + shortcut),
                ("the stride sits on the first 1×1 convolution; put it on the 3×3",
                 stride_first(x)),
            ]
            if body.shape == x.shape:
                found.append(("the shortcut was not added", torch.relu(body)))
                found.append(("the block returns the input unchanged", x))
        return [(description, value.numpy()) for description, value in found]

    compare_modules(block, reference, x, item, modes=("eval", "train"), mistakes=mistakes,
                    hint=_bottleneck_hint(in_channels, out_channels, stride))


def block_mults_expected(h, w, channels, mid_channels):
    """(basic block, bottleneck) multiplications on an h×w map of `channels`, stride 1."""
    basic = 2 * cost.conv_mults(h, w, channels, channels, 3)
    bottleneck = (cost.conv_mults(h, w, channels, mid_channels, 1)
                  + cost.conv_mults(h, w, mid_channels, mid_channels, 3)
                  + cost.conv_mults(h, w, mid_channels, channels, 1))
    return basic, bottleneck


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
