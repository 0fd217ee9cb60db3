"""Checks for the `pointwise-today` exercise: ShuffleNet's unit (grouped 1×1 convolutions and the
channel shuffle), the channel shuffle as a 1×1 convolution's weight matrix, and MobileNetV2's
experiment on why its projection has no ReLU.

The reference's outputs come from `reference("pointwise-today")` (reference.py); the unit's
reference is a record of its seeded state and outputs (roles.module_record), never its code.
"""

import numpy as np

from onebyone.checks.core import (
    CheckFailure,
    call_learner,
    compare_arrays,
    learner_check,
    passed,
)
from onebyone.checks.messages import _
from onebyone.checks.reference import reference
from onebyone.checks.roles import compare_modules, kind, learner_and_reference

__all__ = ["passed", "relu_recovery_error", "shuffle_matrix", "shuffle_unit"]
ASSIGNMENT = "pointwise-today"


def _unit_explain(channels, mid_channels, groups):
    """A function naming the likely structural mistake of a learner's ShuffleNet unit."""
    def explain(missing, extra, learner_units):
        convs = [dict(u.signature)["weight"] for u in learner_units if kind(u.signature) == "conv"]
        if any(dict(s).get("bias") for s in extra if kind(s) == "conv"):
            return _("The convolutions take bias=False: a batch norm follows each of them.")
        if any(w[2:] == (1, 1) and w[1] in (channels, mid_channels) and groups > 1
               for w in convs):
            return _("A 1×1 convolution of yours reads every input channel: in this unit both "
                     "1×1 convolutions are grouped.")
        if any(w[2:] == (3, 3) and w[1] != 1 for w in convs):
            return _("The 3×3 convolution is depthwise: one filter per channel.")
        return ""

    return explain


@learner_check
def shuffle_unit(ShuffleUnit, channels, mid_channels, groups, size=(5, 6), seed=0):
    """The learner's ShuffleNet unit against the recorded reference, in eval() and train()."""
    args = (channels, mid_channels, groups)
    item = f"ShuffleUnit{args}"
    unit, target = learner_and_reference(ShuffleUnit, "ShuffleUnit", args, ASSIGNMENT, seed, size,
                                         item)
    compare_modules(unit, target, target.x, item, modes=("eval", "train"),
                    explain=_unit_explain(*args))


@learner_check
def shuffle_matrix(shuffle_matrix, channels, groups):
    """The learner's permutation matrix of the channel shuffle."""
    want = reference(ASSIGNMENT)("shuffle_matrix", channels, groups)
    got = call_learner(shuffle_matrix, channels, groups, numpy_only=True, item="shuffle_matrix")
    item = f"shuffle_matrix({channels}, {groups})"
    compare_arrays(got, want, item, mistakes=[
        (_("this matrix undoes the shuffle: row o of a 1×1 weight says which input channels "
           "make output channel o"), np.asarray(want).T)] if channels > 2 else [])


@learner_check
def relu_recovery_error(relu_recovery_error, points, dims, seed):
    """The learner's recovery errors after ReLU, one per embedding width."""
    points = np.array(points, dtype=float)
    dims = [int(n) for n in dims]
    want = reference(ASSIGNMENT)("relu_recovery_error", points, dims, seed)
    got = call_learner(relu_recovery_error, points.copy(), list(dims), seed, numpy_only=True,
                       item="relu_recovery_error")
    item = f"relu_recovery_error(points, {dims}, seed={seed})"
    values = np.asarray(got, dtype=float) if isinstance(got, (list, tuple, np.ndarray)) else None
    if values is not None and values.shape == (len(dims),) and np.all(np.abs(values) < 1e-9):
        raise CheckFailure(_("{item}: every point comes back exactly: the ReLU seems missing, "
                             "or applied where it changes nothing.").format(item=item))
    compare_arrays(got, want, item)
