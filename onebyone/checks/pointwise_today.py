"""Checks for the `pointwise-today` exercise: a depthwise-separable module, what it costs and when
it would not pay, MobileNetV2's inverted residual block, and a channel shuffle in NumPy.

The module checks find the learner's layers by their role (a depthwise convolution, a 1×1
convolution from so many channels to so many, the batch norm of so many channels), read from the
shapes in `state_dict()`, so the layers may be defined in any order and under any names.
"""

import numpy as np
import torch

from onebyone import cost, models
from onebyone.checks.core import (
    CheckFailure,
    as_array,
    call_learner,
    check_equal,
    compare_arrays,
    construct_learner,
    forward,
    learner_check,
    passed,
    randomize_state,
)

__all__ = ["break_even", "channel_shuffle", "conv_costs", "depthwise_separable",
           "inverted_residual", "passed"]


# --- finding layers by role ------------------------------------------------------------------

def _layers(state):
    """The layers a state_dict holds, in order: (prefix, {leaf name: tensor}) per submodule."""
    groups = {}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        groups.setdefault(prefix, {})[leaf] = value
    return list(groups.items())


def _convs_and_norms(state):
    """([(prefix, weight shape, has bias)], [(prefix, channels, prefix of the convolution defined
    last before it with that many output channels, or None)], [prefixes of anything else])."""
    convs, norms, other = [], [], []
    for prefix, tensors in _layers(state):
        weight = tensors.get("weight")
        if weight is not None and weight.dim() == 4:
            convs.append((prefix, tuple(weight.shape), "bias" in tensors))
        elif "running_mean" in tensors:
            channels = tensors["running_mean"].numel()
            before = [c[0] for c in convs if c[1][0] == channels]
            norms.append((prefix, channels, before[-1] if before else None))
        else:
            other.append(prefix)
    return convs, norms, other


def _describe(shape):
    return f"a {shape[2]}×{shape[3]} convolution with weight {shape}"


def copy_by_role(reference, learner, item, hint):
    """Give the learner's module the reference's numbers, matching each convolution by its weight
    shape and each batch norm by its channel count (in order where two are alike).

    `hint(shapes)` turns the learner's convolution weight shapes into a guess at the mistake
    when a convolution the reference has is missing."""
    ref_convs, ref_norms, _ = _convs_and_norms(reference.state_dict())
    state = learner.state_dict()
    convs, norms, other = _convs_and_norms(state)
    if other:
        raise CheckFailure(f"{item}: your module holds layers that are neither convolutions nor "
                           f"batch norms: {other}. Use nn.Conv2d and nn.BatchNorm2d only.")
    mapping, free = {}, list(convs)
    for prefix, shape, _ in ref_convs:
        match = next((c for c in free if c[1] == shape), None)
        if match is None:
            yours = [c[1] for c in convs]
            guess = hint(yours)
            raise CheckFailure(
                f"{item}: the reference has {_describe(shape)}; yours has no convolution with "
                f"that weight.\n" + (f"{guess}\n" if guess else "")
                + f"Your convolutions' weights: {yours}")
        free.remove(match)
        if match[2]:
            raise CheckFailure(f"{item}: your convolution {match[0]!r} has a bias. A "
                               "convolution followed by batch norm takes bias=False: the batch "
                               "norm's shift makes a bias redundant.")
        mapping[match[0]] = prefix
    if free:
        raise CheckFailure(f"{item}: your module has convolutions the reference does not: "
                           f"{[_describe(c[1]) for c in free]}.")
    # A batch norm's role is that of the convolution it normalises: the one defined just before
    # it with as many output channels (in the reference, and usually in the learner's module);
    # failing that, the first unmatched batch norm over as many channels.
    ref_norm_of = {conv: prefix for prefix, _, conv in ref_norms}
    free = list(norms)
    for prefix, channels, conv in norms:
        target = ref_norm_of.get(mapping.get(conv))
        if target is not None and target not in mapping.values():
            mapping[prefix] = target
            free.remove((prefix, channels, conv))
    for prefix, channels, _ in ref_norms:
        if prefix in mapping.values():
            continue
        match = next((n for n in free if n[1] == channels), None)
        if match is None:
            raise CheckFailure(f"{item}: a batch norm over {channels} channels is missing. "
                               "Each convolution is followed by batch norm (nn.BatchNorm2d).")
        free.remove(match)
        mapping[match[0]] = prefix
    if free:
        raise CheckFailure(f"{item}: your module has more batch norms than the reference "
                           f"(one per convolution): extra over {[n[1] for n in free]} channels.")
    values = reference.state_dict()
    learner.load_state_dict({key: values[f"{mapping[prefix]}.{leaf}"].clone()
                             for key in state
                             for prefix, _, leaf in [key.rpartition(".")]})


def _compare(learner, reference, x, item, mistakes):
    """Outputs of the learner's module and the reference on `x`, in eval() and train() mode."""
    for mode in ("eval", "train"):
        train = mode == "train"
        reference.train(train)
        with torch.no_grad():
            expected = reference(x).double().numpy()
        got = forward(learner, x, item, train=train)
        named = f"{item}(x) in {mode}() mode"
        if got.shape != expected.shape:
            raise CheckFailure(f"{named}: expected shape {expected.shape}, got {got.shape}. "
                               "Check the padding (kernel_size // 2 keeps the size) and which "
                               "convolution carries the stride.")
        compare_arrays(got, expected, named, mistakes=mistakes(mode), atol=1e-4, rtol=1e-4)


def _depthwise_hint(c_in, k):
    def hint(shapes):
        if (c_in, c_in, k, k) in shapes:
            return (f"Your depthwise conv has groups=1: it mixes channels. A depthwise "
                    f"convolution has one {k}×{k} filter per channel: groups=in_channels, so its "
                    f"weight is ({c_in}, 1, {k}, {k}).")
        return ""
    return hint


def _input(shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- item 1: DepthwiseSeparable ----------------------------------------------------------------

@learner_check
def depthwise_separable(DepthwiseSeparable, c_in, c_out, kernel_size=3, stride=1, size=(7, 7),
                        seed=0):
    """The learner's depthwise-separable module against models.DepthwiseSeparable."""
    args = (c_in, c_out, kernel_size, stride)
    item = f"DepthwiseSeparable{args}"
    block = construct_learner(DepthwiseSeparable, *args, item=item)
    reference = randomize_state(models.DepthwiseSeparable(*args), seed)
    copy_by_role(reference, block, item, _depthwise_hint(c_in, kernel_size))
    x = _input((2, c_in, *size), seed + 1)

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

    _compare(block, reference, x, item, mistakes)


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
        why = ("\nWith c_out = 1 the pointwise layer alone costs as much as the standard "
               "layer divided by k², and the depthwise layer comes on top.")
    raise CheckFailure(f"{item}: missing pairs {missing[:8]}{' ...' if len(missing) > 8 else ''}"
                       f"; pairs that should not be there {extra[:8]}"
                       f"{' ...' if len(extra) > 8 else ''}.{why}")


# --- item 4: InvertedResidual -----------------------------------------------------------------

def _inverted_hint(c_in, c_out, expansion):
    hidden = c_in * expansion

    def hint(shapes):
        if (c_out * expansion, c_in, 1, 1) in shapes and hidden != c_out * expansion:
            return ("The expansion multiplies in_channels, not out_channels: "
                    f"hidden = in_channels × expansion = {hidden}.")
        if (hidden, hidden, 3, 3) in shapes:
            return (f"Your depthwise conv has groups=1: it mixes channels. Give it "
                    f"groups={hidden} (one 3×3 filter per expanded channel).")
        if expansion == 1 and (c_in, c_in, 1, 1) in shapes:
            return "With expansion 1 there is no expanding 1×1 convolution."
        return ""

    return hint


@learner_check
def inverted_residual(InvertedResidual, c_in, c_out, stride=1, expansion=6, size=(6, 6),
                      seed=0):
    """The learner's inverted residual block against models.InvertedResidual."""
    args = (c_in, c_out, stride, expansion)
    item = f"InvertedResidual{args}"
    block = construct_learner(InvertedResidual, *args, item=item)
    reference = randomize_state(models.InvertedResidual(*args), seed)
    x = _input((2, c_in, *size), seed + 1)
    copy_by_role(reference, block, item, _inverted_hint(c_in, c_out, expansion))

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

    _compare(block, reference, x, item, mistakes)


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
