"""Checks for the `resnet-bottleneck` exercise: the pre-activation bottleneck (He et al., 2016,
"Identity Mappings in Deep Residual Networks"), what moving the stride from the first 1×1 layer
(ResNet v1) to the 3×3 layer (v1.5) costs, and how wide a bottleneck's inside can get before it
stops saving multiplications.

The reference's outputs come from `reference("resnet-bottleneck")` (reference.py); the block's
reference is a record of its seeded state and outputs (roles.module_record), never its code.
"""

from torch import nn

from onebyone.checks.core import (
    CheckFailure,
    call_learner,
    check_equal,
    learner_check,
    passed,
)
from onebyone.checks.messages import _
from onebyone.checks.reference import reference
from onebyone.checks.roles import (
    compare_modules,
    kind,
    layers_of,
    learner_and_reference,
    pair,
    setting,
)

__all__ = ["bottleneck_break_even", "passed", "preact_bottleneck", "stride_cost"]
ASSIGNMENT = "resnet-bottleneck"


def _explain(in_channels, mid_channels, out_channels, stride):
    """A function naming the likely structural mistake of a learner's pre-activation block."""
    projected = stride != 1 or in_channels != out_channels

    def explain(missing, extra, learner_units):
        extra_convs = [dict(s) for s in extra if kind(s) == "conv"]
        if any("bias" in conv for conv in extra_convs):
            return _("The convolutions take bias=False: a batch norm follows each of them.")
        extra_norms = [dict(s)["running_var"][0] for s in extra if kind(s) == "norm"]
        missing_norms = [dict(s)["running_var"][0] for s in missing if kind(s) == "norm"]
        if out_channels in extra_norms:
            return _("In the pre-activation block nothing normalises the block's output or the "
                     "shortcut: batch norms come before convolutions, never after the last one.")
        if in_channels in missing_norms:
            return _("The block's input needs a batch norm of its own: the pre-activation "
                     "starts there.")
        if not projected and any(dict(s)["weight"][2:] == (1, 1) and dict(s)["weight"][:2]
                                 == (out_channels, in_channels) for s in extra if
                                 kind(s) == "conv"):
            return _("The shape is unchanged here: the shortcut is the identity.")
        return ""

    return explain


def _diagnose(in_channels, mid_channels, out_channels, stride):
    """A function reading the learner's convolution settings for a likely mistake."""
    def diagnose(block):
        convs = [layer for _, layer in layers_of(block, nn.Conv2d)]
        for conv in convs:
            k, s = pair(setting(conv, "kernel_size")), pair(setting(conv, "stride"))
            if k == (3, 3) and s != (stride, stride):
                told = (_("your 3×3 convolution has stride {stride}, but the block should "
                          "downsample (stride 2): the stride sits on the 3×3 convolution.")
                        if stride != 1 else
                        _("your 3×3 convolution has stride {stride}, but the block should keep "
                          "the size (stride 1): the stride sits on the 3×3 convolution."))
                return told.format(stride=s[0])
            if k == (3, 3) and pair(setting(conv, "padding")) != (1, 1):
                return _("your 3×3 convolution is not padded by 1, so it shrinks the map: "
                         "use padding=1.")
        return ""

    return diagnose


@learner_check
def preact_bottleneck(PreActBottleneck, in_channels, mid_channels, out_channels, stride=1,
                      size=(6, 6), seed=0):
    """The learner's pre-activation bottleneck against the recorded reference, in eval() and
    train() mode."""
    args = (in_channels, mid_channels, out_channels, stride)
    item = f"PreActBottleneck{args}"
    block, target = learner_and_reference(PreActBottleneck, "PreActBottleneck", args, ASSIGNMENT,
                                          seed, size, item)
    compare_modules(block, target, target.x, item, modes=("eval", "train"),
                    explain=_explain(*args), diagnose=_diagnose(*args))


@learner_check
def stride_cost(stride_cost, h, w, in_channels, mid_channels, out_channels):
    """The learner's (v1, v1.5) multiplications of a downsampling bottleneck."""
    item = f"stride_cost({h}, {w}, {in_channels}, {mid_channels}, {out_channels})"
    want = reference(ASSIGNMENT)("stride_cost", h, w, in_channels, mid_channels, out_channels)
    got = call_learner(stride_cost, h, w, in_channels, mid_channels, out_channels,
                       numpy_only=True, item="stride_cost")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure(_("{item}: return a pair (v1, v1.5).").format(item=item))
    check_equal(got[0], want[0], _("{item}, v1 (stride on the first 1×1)").format(item=item))
    check_equal(got[1], want[1], _("{item}, v1.5 (stride on the 3×3)").format(item=item))


@learner_check
def bottleneck_break_even(bottleneck_break_even, channels):
    """The learner's smallest inner width at which a bottleneck costs at least a basic block."""
    want = reference(ASSIGNMENT)("bottleneck_break_even", channels)
    got = call_learner(bottleneck_break_even, channels, numpy_only=True,
                       item="bottleneck_break_even")
    check_equal(got, want, f"bottleneck_break_even({channels})")
