"""Checks for the `one-by-one` exercise: a grouped 1×1 convolution in NumPy, a fully connected
layer on a whole feature map as one convolution, and a 1×1 convolution folded into the
convolution before it. Each check takes the learner's function first.

The reference's outputs come from `reference("one-by-one")`: stored outputs in the kit for the
public tests, the instructor's code in the hidden tests (reference.py). Known mistakes are
recognised by asking the reference for what a typical wrong answer gives (the reference on
transposed weights, without a bias, ...), so no construction of an answer is written here.
"""

import numpy as np
import torch
from torch import nn

from onebyone.checks.core import (
    CheckFailure,
    call_learner,
    check_copied,
    compare_arrays,
    forward,
    learner_check,
    looks_like,
    passed,
)
from onebyone.checks.messages import _
from onebyone.checks.reference import reference

__all__ = ["conv1x1", "fc_as_conv", "fold_1x1", "passed"]
ASSIGNMENT = "one-by-one"


def _floats(*arrays):
    return [None if a is None else np.array(a, dtype=float) for a in arrays]


def _interleaved(ref, x, weight, bias, groups):
    """What a grouped 1×1 convolution gives when its groups are taken as every `groups`-th
    channel (0, G, 2G, ...) instead of consecutive blocks: the reference on reordered channels."""
    def order(channels):  # channel g + j·G goes to place g·(C/G) + j
        return np.array([g + j * groups for g in range(groups) for j in range(channels // groups)])

    c_in, c_out = x.shape[1], weight.shape[0]
    into, out = order(c_in), order(c_out)
    blocked = ref("conv1x1", x[:, into], weight[out], None if bias is None else bias[out], groups)
    result = np.empty_like(blocked)
    result[:, out] = blocked
    return result


def conv1x1_mistakes(ref, x, weight, bias, groups):
    """(description, output) of typical wrong grouped 1×1 convolutions on this input."""
    want = ref("conv1x1", x, weight, bias, groups)
    found = [(_("ReLU was applied; the convolution itself has no activation"),
              np.maximum(want, 0))]
    if bias is not None:
        found.append((_("the bias was left out"), ref("conv1x1", x, weight, None, groups)))
    n, c_in, h, w = x.shape
    mixed = x.reshape(n, h * w, c_in).transpose(0, 2, 1).reshape(x.shape)
    found.append((_("x was reshaped so that pixels and channels got mixed up: move the channel "
                    "axis before reshaping"), ref("conv1x1", mixed, weight, bias, groups)))
    if groups == 1 and weight.shape[0] == weight.shape[1]:
        found.append((_("the weight is used transposed: weight[o, c] connects input channel c "
                        "to output channel o"), ref("conv1x1", x, weight.T, bias, 1)))
    if groups > 1:
        found.append((_("the groups were taken as every `groups`-th channel; a group is a "
                        "block of consecutive channels"),
                      _interleaved(ref, x, weight, bias, groups)))
    return want, found


@learner_check
def conv1x1(conv1x1, x, weight, bias=None, groups=1):
    """The learner's NumPy grouped 1×1 convolution against the reference on one input."""
    x, weight, bias = _floats(x, weight, bias)
    want, mistakes = conv1x1_mistakes(reference(ASSIGNMENT), x, weight, bias, groups)
    copies = [None if a is None else a.copy() for a in (x, weight, bias)]
    got = call_learner(conv1x1, *copies, groups, numpy_only=True, item="conv1x1")
    compare_arrays(got, want, _("conv1x1 with groups={groups}").format(groups=groups),
                   mistakes=mistakes)


# --- a fully connected layer on a feature map, as one convolution -------------------------------


def _linear(channels, height, width, out_features, bias, seed):
    """A Linear on C·H·W features with seeded, non-symmetric weights (from NumPy's generator, so
    the same numbers everywhere)."""
    g = np.random.default_rng(seed)
    linear = nn.Linear(channels * height * width, out_features, bias=bias)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(g.normal(size=tuple(linear.weight.shape))))
        if bias:
            linear.bias.copy_(torch.from_numpy(g.normal(size=out_features)))
    return linear


def _windows(linear, x, height, width):
    """What the Linear gives on every height×width window of x, flattened as x.reshape(N, -1)
    flattens one map: (N, C, H', W') -> (N, out, H' - height + 1, W' - width + 1)."""
    n, _, rows, cols = x.shape
    patches = nn.functional.unfold(x, (height, width))  # (N, C·height·width, positions)
    out = linear(patches.transpose(1, 2))  # (N, positions, out)
    return out.transpose(1, 2).reshape(n, -1, rows - height + 1, cols - width + 1)


def _weights_mistake(weight, linear):
    """What went wrong with the Conv2d's weight, judged from its numbers, or ''."""
    want = linear.weight.detach().double().flatten()
    got = weight.detach().double().flatten()
    if got.shape != want.shape:
        return ""
    if torch.allclose(got, want, atol=1e-6):
        return ""
    if torch.allclose(got.sort().values, want.sort().values, atol=1e-6):
        return _("all the Linear's weights are there, but in the wrong places: the Linear "
                 "reads the map as x.reshape(N, -1) does; put each weight where the convolution "
                 "meets the same channel, row and column")
    return _("the Conv2d does not hold the Linear's weights: it still holds the random weights "
             "a new Conv2d starts with, or numbers computed from them")


@learner_check
def fc_as_conv(fc_as_conv, channels, height, width, out_features, bias=True, seed=0):
    """The learner's Conv2d must compute the Linear on the whole map, and on every window of a
    larger one; it must hold copies of the Linear's numbers, not the Linear's own tensors."""
    linear = _linear(channels, height, width, out_features, bias, seed)
    before = {k: v.clone() for k, v in linear.state_dict().items()}
    conv = call_learner(fc_as_conv, linear, channels, height, width, numpy_only=False,
                        item="fc_as_conv")
    item = f"fc_as_conv(linear, {channels}, {height}, {width})"
    if not isinstance(conv, nn.Conv2d):
        raise CheckFailure(_("{item} returned a {kind}; expected a {expected}.").format(
            item=item, kind=type(conv).__name__, expected="torch.nn.Conv2d"))
    if any(not torch.equal(before[k], v) for k, v in linear.state_dict().items()):
        raise CheckFailure(_("{item} changed the Linear's weights; leave its input untouched."
                             ).format(item=item))
    if (conv.in_channels, conv.out_channels) != (channels, out_features):
        raise CheckFailure(_("{item}: the Conv2d goes from {got_in} to {got_out} channels; the "
                             "Linear reads {channels} channels and gives {features} features."
                             ).format(item=item, got_in=conv.in_channels,
                                      got_out=conv.out_channels, channels=channels,
                                      features=out_features))
    if tuple(conv.kernel_size) != (height, width):
        raise CheckFailure(_("{item}: the kernel is {kernel}; one output position must see "
                             "everything the Linear sees.").format(
            item=item, kernel=tuple(conv.kernel_size)))
    state = conv.state_dict()
    if ("bias" in state) != bias:
        raise CheckFailure((_("{item}: the Linear has a bias; yours has none.") if bias else
                            _("{item}: the Linear has no bias; yours adds one.")).format(item=item))
    mistake = _weights_mistake(state["weight"], linear)
    if not mistake and bias and not torch.allclose(state["bias"].double(),
                                                   linear.bias.double(), atol=1e-6):
        mistake = _("the Linear's bias was not copied into the Conv2d")
    g = np.random.default_rng(seed + 1)
    x = torch.from_numpy(g.normal(size=(2, channels, height, width)))
    larger = torch.from_numpy(g.normal(size=(1, channels, height + 2, width + 1)))
    exact = _linear(channels, height, width, out_features, bias, seed).double()
    with torch.no_grad():
        on_map = exact(x.reshape(2, -1))[:, :, None, None]  # (N, out) -> (N, out, 1, 1)
        on_windows = _windows(exact, larger, height, width)
    for name, inputs, want in ((_("{item} on the map"), x, on_map),
                               (_("{item} on every window of a larger map"), larger, on_windows)):
        got = forward(conv, inputs.float(), item)
        try:
            compare_arrays(got, want.numpy(), name.format(item=item), atol=1e-4, rtol=1e-4)
        except CheckFailure:
            if mistake:
                raise looks_like(item, mistake) from None
            raise
    check_copied(linear, conv, item)


# --- folding a 1×1 convolution into the convolution before it -----------------------------------


@learner_check
def fold_1x1(fold_1x1, weight, bias, weight1x1, bias1x1, seed=0):
    """The learner's folded (weight, bias), then the proof: one convolution with them gives what
    the two convolutions give, on a random image."""
    arrays = _floats(weight, bias, weight1x1, bias1x1)
    weight, bias, weight1x1, bias1x1 = arrays
    item = _("fold_1x1 (k×k weight {weight}, 1×1 weight {weight1x1})").format(
        weight=weight.shape, weight1x1=weight1x1.shape)
    ref = reference(ASSIGNMENT)
    want_weight, want_bias = ref("fold_1x1", *arrays)
    weight_mistakes = []
    if weight1x1.shape[0] == weight1x1.shape[1]:
        weight_mistakes.append((_("the 1×1 weight was used transposed: weight1x1[o, m] takes "
                                  "channel m of the k×k output to output channel o"),
                                ref("fold_1x1", weight, bias, weight1x1.T, bias1x1)[0]))
    bias_mistakes = [
        (_("the k×k convolution's bias was dropped: it goes through the 1×1 convolution like "
           "every other value of its output"), ref("fold_1x1", weight, 0 * bias, weight1x1,
                                                   bias1x1)[1]),
        (_("the 1×1 convolution's own bias was left out"),
         ref("fold_1x1", weight, bias, weight1x1, 0 * bias1x1)[1]),
    ]
    if bias.shape == bias1x1.shape:
        bias_mistakes.append((_("the two biases were simply added: the k×k bias goes through "
                                "the 1×1 layer's weights first"), bias + bias1x1))
    got = call_learner(fold_1x1, *(a.copy() for a in arrays), numpy_only=True, item="fold_1x1")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure(_("{item}: return a pair (weight, bias).").format(item=item))
    compare_arrays(got[0], want_weight, _("{item}: the folded weight").format(item=item),
                   mistakes=weight_mistakes)
    compare_arrays(got[1], want_bias, _("{item}: the folded bias").format(item=item),
                   mistakes=bias_mistakes)
    # The proof, on a random image: one convolution with the learner's numbers = the two.
    k = weight.shape[-1]
    x = torch.from_numpy(np.random.default_rng(seed).normal(size=(2, weight.shape[1], k + 3,
                                                                   k + 2)))
    t = {name: torch.from_numpy(np.array(a, dtype=float)) for name, a in
         (("w", weight), ("b", bias), ("w1", weight1x1), ("b1", bias1x1),
          ("gw", got[0]), ("gb", got[1]))}
    with torch.no_grad():
        two = nn.functional.conv2d(nn.functional.conv2d(x, t["w"], t["b"]),
                                   t["w1"][:, :, None, None], t["b1"])  # (O, M) -> (O, M, 1, 1)
        one = nn.functional.conv2d(x, t["gw"], t["gb"])
    compare_arrays(one.numpy(), two.numpy(), _("{item}: one convolution with your folded "
                                               "weights against the two convolutions"
                                               ).format(item=item))
