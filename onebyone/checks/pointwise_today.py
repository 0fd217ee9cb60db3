"""Checks for the `pointwise-today` exercise: a depthwise-separable module, what it costs and when
it would not pay, MobileNetV2's inverted residual block, and a channel shuffle in NumPy.

The module checks match the learner's layers to the reference's by role (roles.py), so the layers
may be defined in any order and under any names; the `explain` and `diagnose` functions here turn
a structural mistake or a wrong setting into the sentence a learner needs.
"""

import numpy as np
import torch
from torch import nn

from onebyone import cost, models
from onebyone.checks.core import (
    CheckFailure,
    as_array,
    call_learner,
    check_equal,
    compare_arrays,
    construct_learner,
    learner_check,
    passed,
    randomize_state,
)
from onebyone.checks.roles import compare_modules, kind, layers_of, pair, setting, shown

__all__ = ["break_even", "channel_shuffle", "conv_costs", "depthwise_separable",
           "inverted_residual", "passed"]


# --- what the learner's layers tell about a mistake --------------------------------------------

def _conv_shapes(signatures):
    """The weight shapes of the convolutions among unit signatures."""
    return [dict(sig)["weight"] for sig in signatures if kind(sig) == "conv"]


_BIAS = ("A convolution followed by batch norm takes bias=False: the batch norm's shift makes a "
         "bias redundant.")


def _biased(extra):
    return any(kind(sig) == "conv" and "bias" in dict(sig) for sig in extra)


def _bias_or_norm(missing, extra):
    """The mistakes both blocks share: a convolution with a bias, a batch norm left out."""
    if _biased(extra):
        return _BIAS
    if any(kind(sig) == "norm" for sig in missing):
        return "Each convolution is followed by batch norm (nn.BatchNorm2d)."
    return ""


def _depthwise_explain(c_in, k):
    """A function naming the likely structural mistake of a learner's depthwise-separable layer
    (see roles.match)."""
    def explain(missing, extra, learner_units):
        if (c_in, c_in, k, k) in _conv_shapes(extra):
            return (f"Your depthwise conv has groups=1: it mixes channels. A depthwise "
                    f"convolution has one {k}×{k} filter per channel: groups=in_channels, so its "
                    f"weight is ({c_in}, 1, {k}, {k}).")
        return _bias_or_norm(missing, extra)

    return explain


def _inverted_explain(c_in, c_out, expansion):
    """A function naming the likely structural mistake of a learner's inverted residual block."""
    hidden = c_in * expansion

    def explain(missing, extra, learner_units):
        extra_convs = _conv_shapes(extra)
        if (c_out * expansion, c_in, 1, 1) in extra_convs and hidden != c_out * expansion:
            return ("The expansion multiplies in_channels, not out_channels: "
                    f"hidden = in_channels × expansion = {hidden}.")
        if (hidden, hidden, 3, 3) in extra_convs:
            return (f"Your depthwise conv has groups=1: it mixes channels. Give it "
                    f"groups={hidden} (one 3×3 filter per expanded channel).")
        if expansion == 1 and (c_in, c_in, 1, 1) in extra_convs:
            return "With expansion 1 there is no expanding 1×1 convolution."
        return _bias_or_norm(missing, extra)

    return explain


def _diagnose(stride):
    """A function reading the learner's convolution settings when the output is wrong: the
    padding that keeps the size, and which convolution carries the stride."""
    def diagnose(module):
        for _, conv in layers_of(module, nn.Conv2d):
            k = pair(setting(conv, "kernel_size"))
            s, padding = pair(setting(conv, "stride")), pair(setting(conv, "padding"))
            if k is None or s is None:
                continue
            if k == (1, 1) and s != (1, 1):
                return (f"your 1×1 convolution has stride {shown(s)}: the stride sits on the "
                        "depthwise convolution, the 1×1 convolutions keep stride 1.")
            if k != (1, 1) and padding is not None and padding != (k[0] // 2, k[1] // 2):
                return (f"your {k[0]}×{k[1]} depthwise convolution has padding {shown(padding)}; "
                        f"keeping the size takes padding {k[0] // 2} (kernel_size // 2).")
            if k != (1, 1) and s != (stride, stride):
                return (f"your {k[0]}×{k[1]} depthwise convolution has stride {shown(s)}; it "
                        f"carries the block's stride, {stride}.")
        return ""

    return diagnose


def _input(shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _learner_and_reference(Learner, Reference, args, size, seed):
    """(the learner's block, the course's seeded one, an input batch (2, in_channels, *size),
    the item's name) for a block class built from `args`, in_channels first."""
    item = f"{Reference.__name__}{args}"
    block = construct_learner(Learner, *args, item=item)
    reference = randomize_state(Reference(*args), seed)
    return block, reference, _input((2, args[0], *size), seed + 1), item


# --- item 1: DepthwiseSeparable ----------------------------------------------------------------

@learner_check
def depthwise_separable(DepthwiseSeparable, c_in, c_out, kernel_size=3, stride=1, size=(7, 7),
                        seed=0):
    """The learner's depthwise-separable module against models.DepthwiseSeparable."""
    block, reference, x, item = _learner_and_reference(
        DepthwiseSeparable, models.DepthwiseSeparable, (c_in, c_out, kernel_size, stride), size,
        seed)

    def mistakes(mode):
        reference.train(mode == "train")
        dw, pw = reference.depthwise, reference.pointwise
        with torch.no_grad():
            found = [("the ReLU after the pointwise convolution is missing",
                      pw[:2](dw(x))),
                     ("the ReLU after the depthwise convolution is missing",
                      pw(dw[:2](x))),
                     ("the pointwise convolution came first, then the depthwise one",
                      dw(pw(x)) if c_in == c_out else None)]
        return [(d, v.numpy()) for d, v in found if v is not None]

    compare_modules(block, reference, x, item, modes=("eval", "train"), mistakes=mistakes,
                    explain=_depthwise_explain(c_in, kernel_size), diagnose=_diagnose(stride))


# --- item 2: conv_costs -------------------------------------------------------------------------

@learner_check
def conv_costs(conv_costs, h, w, c_in, c_out, k):
    """The learner's (standard, separable) multiplication counts for an h×w output."""
    item = f"conv_costs({h}, {w}, {c_in}, {c_out}, {k})"
    got = call_learner(conv_costs, h, w, c_in, c_out, k, numpy_only=True, item="conv_costs")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure(f"{item}: return a pair (standard, separable).")
    standard = cost.conv_mults(h, w, c_in, c_out, k)
    depthwise = cost.conv_mults(h, w, c_in, c_in, k, groups=c_in)
    pointwise = cost.conv_mults(h, w, c_in, c_out, 1)
    check_equal(got[0], standard, f"{item} standard", [
        (standard // c_in, "each output value was counted as a k×k dot product on one channel; "
                           "a standard convolution's dot product covers all c_in channels"),
        (standard // (h * w), "one output position was counted, not all h×w"),
    ])
    check_equal(got[1], depthwise + pointwise, f"{item} separable", [
        (pointwise, "the depthwise half was left out"),
        (depthwise, "the pointwise (1×1) half was left out"),
        (depthwise * c_in + pointwise, "the depthwise half was counted as mixing all channels "
                                       "(groups=1): it does k·k per value of each channel"),
        (depthwise + pointwise * k * k, "the pointwise half was counted with a k×k kernel; it "
                                        "is 1×1"),
        ((depthwise + pointwise) // (h * w), "one output position was counted, not all h×w"),
    ])


# --- item 3: break_even -----------------------------------------------------------------------

@learner_check
def break_even(break_even, max_k, max_c_out):
    """The learner's list of (k, c_out) where the separable layer costs more than the standard."""
    item = f"break_even({max_k}, {max_c_out})"
    got = call_learner(break_even, max_k, max_c_out, numpy_only=True, item="break_even")
    if not isinstance(got, list) or not all(isinstance(p, tuple) and len(p) == 2 for p in got):
        raise CheckFailure(f"{item}: return a list of (k, c_out) pairs (tuples).")
    got = [tuple(int(v) for v in pair) for pair in got]
    pairs = [(k, c) for k in range(1, max_k + 1) for c in range(1, max_c_out + 1)]
    expected = [(k, c) for k, c in pairs if cost.separable_ratio(c, k) > 1]
    if got == expected:
        return
    cheaper = [(k, c) for k, c in pairs if cost.separable_ratio(c, k) < 1]
    if set(got) == set(expected):
        raise CheckFailure(f"{item}: the right pairs in the wrong order; sort them by k, then "
                           "by c_out.")
    if set(got) == set(cheaper):
        raise CheckFailure(f"{item}: these are the pairs where the separable layer is "
                           "cheaper; the question asks where it costs more.")
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    why = ""
    if missing and all(k == 1 for k, _ in missing):
        why = ("\nWith k = 1 the depthwise layer is a per-channel scaling: it adds "
               "h·w·c_in multiplications to what is already a 1×1 layer.")
    elif missing and all(c == 1 for _, c in missing):
        why = ("\nWith c_out = 1 the depthwise layer alone already costs as much as the "
               "standard layer (h·w·c_in·k² multiplications); the pointwise layer comes on "
               "top.")
    raise CheckFailure(f"{item}: missing pairs {missing[:8]}{' ...' if len(missing) > 8 else ''}"
                       f"; pairs that should not be there {extra[:8]}"
                       f"{' ...' if len(extra) > 8 else ''}.{why}")


# --- item 4: InvertedResidual -----------------------------------------------------------------

@learner_check
def inverted_residual(InvertedResidual, c_in, c_out, stride=1, expansion=6, size=(6, 6),
                      seed=0):
    """The learner's inverted residual block against models.InvertedResidual."""
    block, reference, x, item = _learner_and_reference(
        InvertedResidual, models.InvertedResidual, (c_in, c_out, stride, expansion), size, seed)

    def mistakes(mode):
        reference.train(mode == "train")
        with torch.no_grad():
            body = reference.body(x)
            found = [("the projection is followed by a ReLU6; it must stay linear",
                      torch.clamp(body, 0, 6) + (x if reference.residual else 0)),
                     ("the projection is followed by a ReLU; it must stay linear",
                      torch.relu(body) + (x if reference.residual else 0))]
            if reference.residual:
                found += [("the input was not added back (the shape is kept here: stride 1, "
                           "in_channels == out_channels)", body),
                          ("a ReLU6 follows the addition; the block adds and stops",
                           torch.clamp(body + x, 0, 6))]
        return [(d, v.numpy()) for d, v in found]

    compare_modules(block, reference, x, item, modes=("eval", "train"), mistakes=mistakes,
                    explain=_inverted_explain(c_in, c_out, expansion),
                    diagnose=_diagnose(stride))


# --- item 5: channel_shuffle ------------------------------------------------------------------

@learner_check
def channel_shuffle(channel_shuffle, x, groups):
    """The learner's NumPy channel shuffle against models.channel_shuffle."""
    x = np.array(x, dtype=float)
    n, c, h, w = x.shape
    item = f"channel_shuffle(x of shape {x.shape}, groups={groups})"
    got = as_array(call_learner(channel_shuffle, x.copy(), groups, numpy_only=True,
                                item="channel_shuffle"), item)
    expected = models.channel_shuffle(torch.from_numpy(x), groups).numpy()
    inverse = models.channel_shuffle(torch.from_numpy(x), c // groups).numpy()
    compare_arrays(got, expected, item, mistakes=[
        ("the channels came back unshuffled", x),
        (f"the shuffle went the other way: you split into {c // groups} groups of {groups} "
         f"instead of {groups} groups of {c // groups} (reshape to (N, groups, C // groups, "
         "H, W), then swap those two axes)", inverse),
        ("the channels were reversed, not shuffled", x[:, ::-1]),
    ])
