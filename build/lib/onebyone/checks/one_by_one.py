"""Checks for the `one-by-one` exercise: a NumPy 1×1 convolution, a Linear as a 1×1 Conv2d,
and the cost of a 1×1 layer. Each function takes the learner's function first."""

import numpy as np
import torch
from torch import nn

from onebyone import cost, layers
from onebyone.checks.core import CheckFailure, call_learner, check_equal, compare_arrays


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


def conv1x1(conv1x1, x, weight, bias=None):
    """The learner's NumPy conv1x1 against the reference on one input."""
    copies = [None if a is None else np.array(a, dtype=float) for a in (x, weight, bias)]
    got = call_learner(conv1x1, *copies, numpy_only=True, item="conv1x1")
    compare_arrays(got, layers.conv1x1(x, weight, bias), "conv1x1(x, weight, bias)",
                   mistakes=conv1x1_mistakes(x, weight, bias))


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
    if (conv.bias is None) != (linear.bias is None):
        has = "has a bias" if linear.bias is not None else "has no bias"
        raise CheckFailure(f"{item}: the Linear {has}; the Conv2d must match it.")
    if any(not torch.equal(before[k], v) for k, v in linear.state_dict().items()):
        raise CheckFailure(f"{item} changed the Linear's weights; leave its input untouched.")
    x = torch.randn(2, in_features, *size, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        expected = linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # (N, H, W, C) -> NCHW
        got = conv(x)
        mistakes = []
        if in_features == out_features:
            w = linear.weight.T[:, :, None, None]
            wrong = nn.functional.conv2d(x, w, linear.bias)
            mistakes.append(("the weight was transposed", wrong.numpy()))
    compare_arrays(got.detach().numpy(), expected.numpy(), f"{item}(x)", mistakes=mistakes)


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
