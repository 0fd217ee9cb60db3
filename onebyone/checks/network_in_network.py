"""Checks for the `network-in-network` exercise: maxout as a 1×1 convolution with cross-channel
max pooling (the layer NiN compares its mlpconv with), the receptive field of a stack of layers
(which 1×1 layers do not widen), and moving a stride from a 1×1 layer to the first layer of an
mlpconv block without changing what it computes.

The reference's outputs come from `reference("network-in-network")` (reference.py); the stride
item needs none: the block the learner is given is its own reference.
"""

import numpy as np
import torch
from torch import nn

from onebyone.checks.core import (
    CheckFailure,
    call_learner,
    check_copied,
    check_equal,
    compare_arrays,
    forward,
    learner_check,
    passed,
    randomize_state,
)
from onebyone.checks.messages import _
from onebyone.checks.reference import reference
from onebyone.checks.roles import layers_of, pair, setting

__all__ = ["maxout", "passed", "receptive_field", "stride_first"]
ASSIGNMENT = "network-in-network"


# --- maxout: a 1×1 convolution, then a max across channels --------------------------------------


@learner_check
def maxout(maxout, x, weight, bias, pieces):
    """The learner's NumPy maxout layer against the reference on one input."""
    x, weight, bias = (np.array(a, dtype=float) for a in (x, weight, bias))
    ref = reference(ASSIGNMENT)
    want = ref("maxout", x, weight, bias, pieces)
    units = weight.shape[0] // pieces
    # the pieces of unit u taken as channels u, u + units, ... instead of a block of `pieces`
    order = np.array([u + j * units for u in range(units) for j in range(pieces)])
    mistakes = [
        (_("the pieces of a unit were taken as every `units`-th channel; here a unit's pieces "
           "are `pieces` consecutive channels of the 1×1 convolution"),
         ref("maxout", x, weight[order], bias[order], pieces)),
        (_("a ReLU was applied after the max; maxout needs none: the max is its nonlinearity"),
         np.maximum(want, 0)),
        (_("the bias was left out"), ref("maxout", x, weight, 0 * bias, pieces)),
    ]
    got = call_learner(maxout, x.copy(), weight.copy(), bias.copy(), pieces, numpy_only=True,
                       item="maxout")
    compare_arrays(got, want, _("maxout with {pieces} pieces").format(pieces=pieces),
                   mistakes=mistakes)


# --- the receptive field of a stack of layers ----------------------------------------------------


def _plain(layers):
    return [tuple(int(v) for v in layer) for layer in layers]


@learner_check
def receptive_field(receptive_field, layers):
    """The learner's receptive field of a stack of (kernel, stride[, dilation]) layers."""
    layers = _plain(layers)
    ref = reference(ASSIGNMENT)
    want = ref("receptive_field", layers)
    mistakes = [
        (ref("receptive_field", [(layer[0], 1, *layer[2:]) for layer in layers]),
         _("the strides were left out: after a layer of stride s, neighbouring positions are s "
           "input pixels apart, for every layer above it")),
        (ref("receptive_field", [layer[:2] for layer in layers]),
         _("the dilation was left out: the taps of a dilated kernel are `dilation` positions "
           "apart")),
        (ref("receptive_field", [layer[:2] for layer in reversed(layers)]),
         _("the layers were taken from the output down to the input")),
    ]
    got = call_learner(receptive_field, [list(layer) for layer in layers], numpy_only=True,
                       item="receptive_field")
    check_equal(got, want, f"receptive_field({layers})", [(w, d) for w, d in mistakes])


# --- moving the stride to where it saves the most ------------------------------------------------


def strided_block(in_channels, channels, kernel_size, padding, stride, strided, seed):
    """An mlpconv-like block: a k×k convolution (stride 1) and two 1×1 convolutions, each followed
    by ReLU, the stride `stride` on the 1×1 layer number `strided` (1 or 2). Seeded weights."""
    layers = [nn.Conv2d(in_channels, channels, kernel_size, padding=padding), nn.ReLU()]
    for number in (1, 2):
        layers += [nn.Conv2d(channels, channels, 1, stride=stride if number == strided else 1),
                   nn.ReLU()]
    return randomize_state(nn.Sequential(*layers), seed)


def _strides(module):
    """[(kernel size, stride)] of the learner's convolutions, in the order of definition."""
    return [(pair(setting(layer, "kernel_size")), pair(setting(layer, "stride")))
            for _, layer in layers_of(module, nn.Conv2d)]


@learner_check
def stride_first(stride_first, in_channels, channels, kernel_size, padding, stride, strided,
                 size=(9, 10), seed=0):
    """The learner's block must compute what the given block computes, with the stride on its
    first layer and on no other."""
    block = strided_block(in_channels, channels, kernel_size, padding, stride, strided, seed)
    before = {k: v.clone() for k, v in block.state_dict().items()}
    x = torch.from_numpy(np.random.default_rng(seed).normal(size=(2, in_channels, *size))).float()
    with torch.no_grad():
        want = block(x).double().numpy()
    item = _("stride_first(block with stride {stride} on 1×1 layer {strided})").format(
        stride=stride, strided=strided)
    made = call_learner(stride_first, block, numpy_only=False, item="stride_first")
    if not isinstance(made, nn.Module):
        raise CheckFailure(_("{item} returned a {kind}; expected a {expected}.").format(
            item=item, kind=type(made).__name__, expected="torch.nn.Module"))
    if any(not torch.equal(before[k], v) for k, v in block.state_dict().items()):
        raise CheckFailure(_("{item} changed the block it was given; leave it untouched and "
                             "return a new one.").format(item=item))
    got = forward(made, x, item)
    strides = _strides(made)
    if got.shape != want.shape and strides and strides[0][1] == (stride, stride) and any(
            s != (1, 1) for _kernel, s in strides[1:]):
        raise CheckFailure(_("{item}: the output is subsampled twice: the stride must leave "
                             "the 1×1 layer when it moves to the first one.").format(item=item))
    compare_arrays(got, want, f"{item}(x)", atol=1e-4, rtol=1e-4)
    if not strides or strides[0][1] != (stride, stride):
        raise CheckFailure(_("{item}: the output is right, but the first convolution does not "
                             "carry the stride: every position the layers before the stride "
                             "compute at full resolution is thrown away later.").format(item=item))
    if any(s != (1, 1) for _kernel, s in strides[1:]):
        raise CheckFailure(_("{item}: only the first convolution should carry a stride.").format(
            item=item))
    check_copied(block, made, item)
