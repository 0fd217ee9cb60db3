"""Checks for the `inception-cost` exercise: the cost of a convolution, the naive and bottleneck 5×5
branches of the Inception example, and the Inception module itself."""

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


def _inception_hint(want, got):
    """A guess at why the learner's Inception holds other tensors than the reference's."""
    kernels = [s[2:] for s in got if len(s) == 4]
    if len(got) == len(kernels):
        return "The convolutions need their biases (bias=True, the default)."
    if len(kernels) != 6:
        return (f"The module has six convolutions (1×1 | 1×1, 3×3 | 1×1, 5×5 | pool, 1×1); "
                f"yours has {len(kernels)}.")
    if kernels != [(1, 1), (1, 1), (3, 3), (1, 1), (5, 5), (1, 1)]:
        return (f"Your kernels come as {kernels}; define the branches in the order 1×1, "
                "3×3 (reduce first), 5×5 (reduce first), pool projection.")
    return ""


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

    compare_modules(module, reference, x, item, mistakes=mistakes, hint=_inception_hint)

