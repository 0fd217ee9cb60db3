"""Checks for the `inception-cost` exercise: the Inception module with its 5×5 branch factorised
into two 3×3 convolutions (as in Inception-v2), the reduction width at which a 1×1 layer stops
saving multiplications, and fusing the 1×1 convolutions that read the module's input.

The reference's outputs come from `reference("inception-cost")` (reference.py): stored in the kit
for the public tests, the instructor's code in the hidden tests. The module's reference is a
record (its seeded state and outputs, roles.module_record), never its code.
"""

import itertools

import numpy as np
from torch import nn

from onebyone.checks.core import (
    CheckFailure,
    call_learner,
    check_equal,
    compare_arrays,
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
    shown,
)

__all__ = ["break_even_reduce", "fuse_1x1", "inception", "passed"]
ASSIGNMENT = "inception-cost"


def _inception_explain(missing, extra, learner_units):
    """A guess at why the learner's Inception holds other layers than it needs."""
    convs = [dict(u.signature) for u in learner_units if kind(u.signature) == "conv"]
    if convs and all("bias" not in conv for conv in convs):
        return _("The convolutions need their biases (bias=True, the default).")
    if len(convs) != 7:
        return _("The module has seven convolutions (1×1 | 1×1, 3×3 | 1×1, 3×3, 3×3 | pool, "
                 "1×1); yours has {count}.").format(count=len(convs))
    if any(conv["weight"][2:] == (5, 5) for conv in convs):
        return _("The 5×5 convolution is replaced: no convolution is larger than 3×3.")
    return ""


def _inception_diagnose(module):
    """The pooling's and the convolutions' settings, for a module whose output is wrong."""
    for _path, pool in layers_of(module, nn.MaxPool2d):
        if pair(setting(pool, "stride")) != (1, 1):
            stride = shown(setting(pool, "stride"))
            return _("your max pooling has stride {stride} (MaxPool2d's stride defaults to its "
                     "window size): the pool branch keeps the size with stride=1, padding=1."
                     ).format(stride=stride)
    for _path, conv in layers_of(module, nn.Conv2d):
        k = pair(setting(conv, "kernel_size"))
        if k and pair(setting(conv, "padding")) != (k[0] // 2, k[1] // 2):
            padding = shown(setting(conv, "padding"))
            return _("your {kh}×{kw} convolution has padding {padding}; keeping the size takes "
                     "padding {half} (k // 2).").format(kh=k[0], kw=k[1], padding=padding,
                                                       half=k[0] // 2)
    return ""


@learner_check
def inception(Inception, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, size=(8, 8),
              seed=0):
    """The learner's factorised Inception module against the reference: structure and output."""
    args = (in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj)
    item = f"Inception{args}"
    module, target = learner_and_reference(Inception, "Inception", args, ASSIGNMENT, seed, size,
                                           item)
    blocks = np.cumsum([0, c1, c3, c5, pool_proj])

    def mistakes(mode):
        out = np.asarray(target.outputs[f"values/{mode}"])
        parts = [out[:, blocks[i]:blocks[i + 1]] for i in range(4)]
        return [(_("the branches were concatenated in another order; it is 1×1, 3×3, double "
                   "3×3, pool"), np.concatenate([parts[i] for i in order], axis=1))
                for order in itertools.permutations(range(4)) if order != (0, 1, 2, 3)]

    compare_modules(module, target, target.x, item, mistakes=mistakes,
                    explain=_inception_explain, diagnose=_inception_diagnose)


@learner_check
def break_even_reduce(break_even_reduce, c_in, c_out, k):
    """The learner's width at which a 1×1 reduction stops saving multiplications."""
    item = f"break_even_reduce({c_in}, {c_out}, {k})"
    want = reference(ASSIGNMENT)("break_even_reduce", c_in, c_out, k)
    got = call_learner(break_even_reduce, c_in, c_out, k, numpy_only=True,
                       item="break_even_reduce")
    if isinstance(got, float) and got == int(got):
        got = int(got)
    # No "off by one" hint: naming a neighbour of the answer would give the answer away.
    check_equal(got, want, item)


@learner_check
def fuse_1x1(fuse_1x1, branches):
    """The learner's fused 1×1 convolution of the branches whose first layer reads the input.

    `branches` maps a branch's name to (weight (C_i, C_in), bias (C_i,)) of its first 1×1 layer,
    in the module's order."""
    branches = {name: tuple(np.array(a, dtype=float) for a in pair_) for name, pair_ in
                branches.items()}
    names = list(branches)
    want_names, want_weight, want_bias = reference(ASSIGNMENT)("fuse_1x1", branches)
    got = call_learner(fuse_1x1, {n: (w.copy(), b.copy()) for n, (w, b) in branches.items()},
                       numpy_only=True, item="fuse_1x1")
    item = _("fuse_1x1 of {names}").format(names=names)
    if not isinstance(got, tuple) or len(got) != 3:
        raise CheckFailure(_("{item}: return a triple (names, weight, bias).").format(item=item))
    got_names = list(got[0]) if isinstance(got[0], (list, tuple)) else got[0]
    if got_names != list(want_names):
        if isinstance(got_names, list) and set(got_names) > set(want_names):
            raise CheckFailure(_("{item}: you fused {names}; one of them does not read the "
                                 "module's input directly, so its 1×1 layer cannot join the "
                                 "others.").format(item=item, names=got_names))
        raise CheckFailure(_("{item}: the names of the fused branches are not right: list the "
                             "branches whose 1×1 layer reads the input, in the module's order."
                             ).format(item=item))
    compare_arrays(got[1], want_weight, _("{item}: the fused weight").format(item=item))
    compare_arrays(got[2], want_bias, _("{item}: the fused bias").format(item=item))
