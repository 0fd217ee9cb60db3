"""Checks for the `one-by-one` exercise: a NumPy 1×1 convolution, a Linear as a 1×1 Conv2d,
the cost of a 1×1 layer, and a 1×1 convolution folded into the convolution before it. Each
function takes the learner's function first."""

import numpy as np
import torch
from torch import nn

from onebyone import cost, layers
from onebyone.checks.core import (
    CheckFailure,
    call_learner,
    check_equal,
    compare_arrays,
    forward,
    learner_check,
    passed,
)

__all__ = ["conv1x1", "conv1x1_cost", "fold_1x1", "linear_as_conv1x1", "passed"]


def conv1x1_mistakes(x, weight, bias):
    """What typical wrong 1×1 convolutions return on this input."""
    found = [("ReLU was applied; the convolution itself has no activation",
              layers.relu(layers.conv1x1(x, weight, bias)))]
    if bias is not None:
        found.append(("the bias was left out", layers.conv1x1(x, weight)))
    n, c_in, h, w = x.shape
    pixels_mixed_up = x.reshape(n, h * w, c_in).transpose(0, 2, 1).reshape(x.shape)
    found.append(("x was reshaped to (N, H*W, C_in) without moving the channel axis first: "
                  "use a transpose (or moveaxis) before the reshape",
                  layers.conv1x1(pixels_mixed_up, weight, bias)))
    if weight.shape[0] == weight.shape[1]:
        found.append(("the weight is used transposed: weight[o, c] connects input channel c "
                      "to output channel o", layers.conv1x1(x, weight.T, bias)))
    return found


@learner_check
def conv1x1(conv1x1, x, weight, bias=None):
    """The learner's NumPy conv1x1 against the reference on one input."""
    copies = [None if a is None else np.array(a, dtype=float) for a in (x, weight, bias)]
    got = call_learner(conv1x1, *copies, numpy_only=True, item="conv1x1")
    compare_arrays(got, layers.conv1x1(x, weight, bias), "conv1x1(x, weight, bias)",
                   mistakes=conv1x1_mistakes(x, weight, bias))


def _copied_state_mistake(conv, linear):
    """What went wrong in copying the Linear's numbers into the Conv2d, or ''."""
    state = conv.state_dict()
    weight = state["weight"].detach().double()[:, :, 0, 0]  # (out, in, 1, 1) -> (out, in)
    want = linear.weight.detach().double()
    if weight.shape == want.shape and not torch.allclose(weight, want, atol=1e-6):
        if weight.shape == want.T.shape and torch.allclose(weight, want.T, atol=1e-6):
            return "the weight was transposed: Linear's weight[o, i] is Conv2d's weight[o, i, 0, 0]"
        if torch.allclose(weight.flatten().sort().values, want.flatten().sort().values,
                          atol=1e-6):
            return ("the Linear's weights are all there but in the wrong places: weight[o, i] "
                    "of the Linear goes to weight[o, i, 0, 0] of the Conv2d")
        return ("the Linear's weights were not copied into the Conv2d: it still holds the random "
                "weights a new Conv2d starts with")
    if linear.bias is not None and "bias" in state and not torch.allclose(
            state["bias"].detach().double(), linear.bias.detach().double(), atol=1e-6):
        return ("the Linear's bias was not copied into the Conv2d: it still holds the random "
                "bias a new Conv2d starts with")
    return ""


@learner_check
def linear_as_conv1x1(linear_as_conv1x1, in_features, out_features, bias=True, seed=0,
                      size=(3, 4)):
    """The learner's Conv2d must compute, at every pixel, what the Linear computes."""
    torch.manual_seed(seed)
    linear = nn.Linear(in_features, out_features, bias=bias)
    before = {k: v.clone() for k, v in linear.state_dict().items()}
    conv = call_learner(linear_as_conv1x1, linear, numpy_only=False, item="linear_as_conv1x1")
    item = "linear_as_conv1x1(linear)"
    if not isinstance(conv, nn.Conv2d):
        raise CheckFailure(f"{item} returned a {type(conv).__name__}; expected torch.nn.Conv2d.")
    if tuple(conv.kernel_size) != (1, 1):
        raise CheckFailure(f"{item}: the kernel size is {tuple(conv.kernel_size)}, not (1, 1).")
    if (conv.in_channels, conv.out_channels) != (in_features, out_features):
        raise CheckFailure(f"{item}: expected {in_features} -> {out_features} channels, got "
                           f"{conv.in_channels} -> {conv.out_channels}.")
    if ("bias" in conv.state_dict()) != (linear.bias is not None):
        if linear.bias is not None:
            raise CheckFailure(f"{item}: the Linear has a bias, but your Conv2d has none: make it "
                               "with bias=True and copy the Linear's bias into it.")
        raise CheckFailure(f"{item}: the Linear has no bias, so the Conv2d must have none "
                           "(bias=False); yours adds one.")
    if any(not torch.equal(before[k], v) for k, v in linear.state_dict().items()):
        raise CheckFailure(f"{item} changed the Linear's weights; leave its input untouched.")
    mistake = _copied_state_mistake(conv, linear)
    if mistake:
        raise CheckFailure(f"{item}: the values are wrong.\nIt looks like {mistake}.")
    x = torch.randn(2, in_features, *size, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        expected = linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # (N, H, W, C) -> NCHW
    got = forward(conv, x, item)
    compare_arrays(got, expected.numpy(), f"{item}(x)")


@learner_check
def conv1x1_cost(conv1x1_cost, h, w, c_in, c_out, bias):
    """The learner's (parameters, multiplications) of a 1×1 convolution."""
    got = call_learner(conv1x1_cost, h, w, c_in, c_out, bias, numpy_only=True,
                       item="conv1x1_cost")
    item = f"conv1x1_cost({h}, {w}, {c_in}, {c_out}, bias={bias})"
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure(f"{item}: return a pair (parameters, multiplications).")
    params, mults = got
    check_equal(params, cost.conv_params(c_in, c_out, 1, bias=bias), f"{item} parameters", [
        (cost.conv_params(c_in, c_out, 1, bias=not bias), "biases were counted the wrong way"),
        (h * w * c_in * c_out, "you returned the multiplications as the parameters"),
    ])
    check_equal(mults, cost.conv_mults(h, w, c_in, c_out, 1), f"{item} multiplications", [
        (c_in * c_out, "you counted the multiplications for one pixel only"),
        (h * w * c_in * c_out + h * w * c_out,
         "the bias additions were counted as multiplications"),
    ])


def folded(weight, bias, weight1x1, bias1x1):
    """The reference fold: a k×k convolution (weight (M, C, k, k), bias (M,)) followed by a 1×1
    convolution (weight1x1 (O, M), bias1x1 (O,)) is one k×k convolution (weight (O, C, k, k),
    bias (O,)): the 1×1 mixes the k×k filters, and passes the k×k bias through its weights."""
    return (np.einsum("om,mckl->ockl", weight1x1, weight),  # (O, M) x (M, C, k, k) -> (O, C, k, k)
            weight1x1 @ bias + bias1x1)


@learner_check
def fold_1x1(fold_1x1, weight, bias, weight1x1, bias1x1, seed=0):
    """The learner's folded (weight, bias), then the proof: one convolution with them gives what
    the two convolutions give, on a random image."""
    arrays = [np.array(a, dtype=float) for a in (weight, bias, weight1x1, bias1x1)]
    weight, bias, weight1x1, bias1x1 = arrays
    item = f"fold_1x1 (k×k weight {weight.shape}, 1×1 weight {weight1x1.shape})"
    got = call_learner(fold_1x1, *(a.copy() for a in arrays), numpy_only=True, item="fold_1x1")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure(f"{item}: return a pair (weight, bias).")
    want_weight, want_bias = folded(*arrays)
    weight_mistakes = []
    if weight1x1.shape[0] == weight1x1.shape[1]:
        weight_mistakes.append(("the 1×1 weight was used transposed: weight1x1[o, m] takes "
                                "channel m of the k×k output to output channel o",
                                folded(weight, bias, weight1x1.T, bias1x1)[0]))
    compare_arrays(got[0], want_weight, f"{item}: the folded weight", mistakes=weight_mistakes)
    bias_mistakes = [
        ("the k×k convolution's bias was dropped: it passes through the 1×1 convolution, as "
         "weight1x1 @ bias", bias1x1),
        ("the 1×1 convolution's own bias was left out", weight1x1 @ bias),
    ]
    if bias.shape == bias1x1.shape:
        bias_mistakes.append(("the two biases were added; the k×k bias is first mixed by the "
                              "1×1 weights (weight1x1 @ bias)", bias + bias1x1))
    compare_arrays(got[1], want_bias, f"{item}: the folded bias", mistakes=bias_mistakes)
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
    compare_arrays(one.numpy(), two.numpy(), f"{item}: one convolution with your folded weights "
                   "against the two convolutions")
