"""Checks for the `inception-cost` exercise: the cost of a convolution, the naive and bottleneck 5×5
branches of the Inception example, the width at which a 1×1 reduction stops saving, and the
Inception module itself."""

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

__all__ = ["branch5_cost", "break_even_reduce", "conv_mults", "conv_params", "inception",
           "passed"]


@learner_check
def conv_params(conv_params, c_in, c_out, k, bias=False):
    """The learner's parameter count of a k×k convolution."""
    item = f"conv_params({c_in}, {c_out}, {k}, bias={bias})"
    got = call_learner(conv_params, c_in, c_out, k, bias, numpy_only=True, item="conv_params")
    expected = cost.conv_params(c_in, c_out, k, bias=bias)
    check_equal(got, expected, item, [
        (c_in * c_out * k + (c_out if bias else 0), "the kernel was counted as k, not k×k"),
        (expected + c_out, "the bias was counted twice" if bias else
         "a bias was counted although bias=False"),
        (expected - c_out, "the biases were left out"),
        (c_in * k * k + (c_out if bias else 0), "the output channels were left out: every "
                                                 "output channel has its own filter"),
    ])


@learner_check
def conv_mults(conv_mults, h_out, w_out, c_in, c_out, k):
    """The learner's multiplication count of a k×k convolution with an h_out×w_out output."""
    item = f"conv_mults({h_out}, {w_out}, {c_in}, {c_out}, {k})"
    got = call_learner(conv_mults, h_out, w_out, c_in, c_out, k, numpy_only=True,
                       item="conv_mults")
    expected = cost.conv_mults(h_out, w_out, c_in, c_out, k)
    check_equal(got, expected, item, [
        (h_out * w_out * c_in * c_out * k, "the kernel was counted as k, not k×k"),
        (c_out * c_in * k * k, "only one output position was counted"),
        (h_out * w_out * c_out * k * k, "the input channels were left out: each output value "
                                        "is a dot product over k·k·c_in inputs"),
        (expected + h_out * w_out * c_out, "the bias additions were counted as multiplications"),
    ])


def branch5_expected(h, w, c_in, c_out, c_reduce):
    """(parameters, multiplications) of a "same" 5×5 branch, with an optional 1×1 reduction."""
    if c_reduce is None:
        return cost.conv_params(c_in, c_out, 5), cost.conv_mults(h, w, c_in, c_out, 5)
    params = cost.conv_params(c_in, c_reduce, 1) + cost.conv_params(c_reduce, c_out, 5)
    mults = cost.conv_mults(h, w, c_in, c_reduce, 1) + cost.conv_mults(h, w, c_reduce, c_out, 5)
    return params, mults


@learner_check
def branch5_cost(branch5_cost, h, w, c_in, c_out, c_reduce=None):
    """The learner's (parameters, multiplications) of the 5×5 branch, naive or with a bottleneck."""
    item = f"branch5_cost({h}, {w}, {c_in}, {c_out}, c_reduce={c_reduce})"
    got = call_learner(branch5_cost, h, w, c_in, c_out, c_reduce, numpy_only=True,
                       item="branch5_cost")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure(f"{item}: return a pair (parameters, multiplications).")
    params, mults = branch5_expected(h, w, c_in, c_out, c_reduce)
    naive_params, naive_mults = branch5_expected(h, w, c_in, c_out, None)
    if c_reduce is None:
        params_mistakes, mults_mistakes = [], []
    else:
        params_mistakes = [
            (cost.conv_params(c_reduce, c_out, 5), "the 1×1 reduction was left out"),
            (cost.conv_params(c_in, c_reduce, 1) + naive_params,
             "the 5×5 convolution was counted on all c_in channels, not on the c_reduce "
             "channels the 1×1 layer leaves"),
        ]
        mults_mistakes = [
            (cost.conv_mults(h, w, c_reduce, c_out, 5), "the 1×1 reduction was left out"),
            (cost.conv_mults(h, w, c_in, c_reduce, 1) + naive_mults,
             "the 5×5 convolution was counted on all c_in channels, not on the c_reduce "
             "channels the 1×1 layer leaves"),
            (cost.conv_mults(h, w, c_in, c_reduce, 5) + cost.conv_mults(h, w, c_reduce, c_out, 5),
             "the reduction was counted as a 5×5 convolution; it is 1×1"),
        ]
    check_equal(got[0], params, f"{item} parameters", params_mistakes)
    check_equal(got[1], mults, f"{item} multiplications", mults_mistakes)


def _inception_explain(missing, extra, learner_units):
    """A guess at why the learner's Inception holds other layers than it needs."""
    convs = [dict(u.signature) for u in learner_units if kind(u.signature) == "conv"]
    if convs and all("bias" not in conv for conv in convs):
        return "The convolutions need their biases (bias=True, the default)."
    if len(convs) != 6:
        return (f"The module has six convolutions (1×1 | 1×1, 3×3 | 1×1, 5×5 | pool, 1×1); "
                f"yours has {len(convs)}.")
    return ""


def _inception_diagnose(module):
    """The pooling's and the convolutions' settings, for a module whose output is wrong."""
    for _, pool in layers_of(module, nn.MaxPool2d):
        if pair(setting(pool, "stride")) != (1, 1):
            stride = shown(setting(pool, "stride"))
            return (f"your max pooling has stride {stride} (MaxPool2d's stride "
                    "defaults to its window size): the pool branch keeps the size with "
                    "stride=1, padding=1.")
    for _, conv in layers_of(module, nn.Conv2d):
        k = pair(setting(conv, "kernel_size"))
        if k and pair(setting(conv, "padding")) != (k[0] // 2, k[1] // 2):
            padding = shown(setting(conv, "padding"))
            return (f"your {k[0]}×{k[1]} convolution has padding {padding}; "
                    f"keeping the size takes padding {k[0] // 2} (k // 2).")
    return ""


@learner_check
def inception(Inception, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, size=(8, 8),
              seed=0):
    """The learner's Inception module against the reference: structure and output."""
    args = (in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj)
    item = f"Inception{args}"
    module = construct_learner(Inception, *args, item=item)
    reference = randomize_state(models.Inception(*args), seed)
    x = torch.randn(2, in_channels, *size, generator=torch.Generator().manual_seed(seed + 1))

    def mistakes(mode):
        with torch.no_grad():
            outs = [b(x) for b in (reference.branch1, reference.branch3, reference.branch5,
                                   reference.branch_pool)]
            no_relu_pool = reference.branch_pool[1][0](reference.branch_pool[0](x))
        found = [("the branches were concatenated in another order; it is 1×1, 3×3, 5×5, pool",
                  torch.cat(order, dim=1).numpy())
                 for order in ([outs[3], outs[0], outs[1], outs[2]],
                               [outs[0], outs[2], outs[1], outs[3]],
                               outs[::-1])]
        found.append(("the pool branch's 1×1 projection has no ReLU",
                      torch.cat(outs[:3] + [no_relu_pool], dim=1).numpy()))
        return found

    compare_modules(module, reference, x, item, mistakes=mistakes, explain=_inception_explain,
                    diagnose=_inception_diagnose)


def break_even_expected(c_in, c_out, k):
    """The smallest c_reduce for which 1×1 (c_in -> c_reduce) then k×k (c_reduce -> c_out) needs
    at least the multiplications of one k×k (c_in -> c_out). Per output position:
    r·c_in + r·k²·c_out >= k²·c_in·c_out, so r >= k²·c_in·c_out / (c_in + k²·c_out)."""
    return -(-(k * k * c_in * c_out) // (c_in + k * k * c_out))  # the ceiling, in integers


@learner_check
def break_even_reduce(break_even_reduce, c_in, c_out, k):
    """The learner's width at which a 1×1 reduction stops saving multiplications."""
    item = f"break_even_reduce({c_in}, {c_out}, {k})"
    got = call_learner(break_even_reduce, c_in, c_out, k, numpy_only=True,
                       item="break_even_reduce")
    expected = break_even_expected(c_in, c_out, k)
    check_equal(got, expected, item, [
        (expected - 1, f"you returned the widest reduction that still saves ({expected - 1}); "
                       "the question asks for the first width that no longer does"),
        (c_in, "the 1×1 convolution's own multiplications were left out: without them any "
               "width below c_in would save"),
        (break_even_expected(c_out, c_in, k), "c_in and c_out were swapped"),
        (expected + 1, "'no longer saves' starts where the two counts are equal, not after"),
    ])

