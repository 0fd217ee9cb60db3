"""The exercise checks: right answers pass; typical mistakes fail with a message naming them."""

import numpy as np
import pytest
import torch
from torch import nn

from onebyone import layers
from onebyone.checks import CheckFailure, check_equal, compare_arrays
from onebyone.checks import one_by_one as check

X = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
W = np.random.default_rng(1).normal(size=(3, 3))  # square, so a transposed weight fits
B = np.random.default_rng(2).normal(size=3)


def honest_conv1x1(x, weight, bias=None):
    out = np.tensordot(weight, x, axes=([1], [1])).transpose(1, 0, 2, 3)  # (O, N, H, W) -> NOHW
    return out if bias is None else out + bias[None, :, None, None]


def failure(fn, *args):
    with pytest.raises(CheckFailure) as caught:
        fn(*args)
    return str(caught.value)


def test_an_honest_conv1x1_passes():
    check.conv1x1(honest_conv1x1, X, W, B)
    check.conv1x1(honest_conv1x1, X, W)


@pytest.mark.parametrize("mistake, expected_words", [
    (lambda x, w, b=None: honest_conv1x1(x, w), "bias was left out"),
    (lambda x, w, b=None: honest_conv1x1(x, w.T, b), "transposed"),
    (lambda x, w, b=None: np.maximum(honest_conv1x1(x, w, b), 0), "ReLU"),
    (lambda x, w, b=None: honest_conv1x1(x, w, b).transpose(0, 2, 3, 1), "NHWC"),
    (lambda x, w, b=None: honest_conv1x1(x, w, b)[:, :2], "expected shape"),
    (lambda x, w, b=None: honest_conv1x1(x, w, b) + 1e-3, "channels that differ"),
    (lambda x, w, b=None: honest_conv1x1(x, w, b).tolist(), "expected a NumPy array"),
    (lambda x, w, b=None: honest_conv1x1(x, w, b) * np.nan, "NaN"),
])
def test_typical_conv1x1_mistakes_are_named(mistake, expected_words):
    assert expected_words in failure(check.conv1x1, mistake, X, W, B)


def test_an_ndarray_subclass_that_claims_equality_is_refused():
    class AlwaysEqual(np.ndarray):
        def __eq__(self, other):
            return True

    cheat = lambda x, w, b=None: np.zeros((2, 3, 4, 5)).view(AlwaysEqual)  # noqa: E731
    assert "expected a NumPy array" in failure(check.conv1x1, cheat, X, W, B)


def uses_torch(x, weight, bias=None):
    kernel = torch.from_numpy(weight)[:, :, None, None]  # (C_out, C_in) -> (C_out, C_in, 1, 1)
    out = torch.nn.functional.conv2d(torch.from_numpy(x), kernel)
    return out.numpy() if bias is None else out.numpy() + bias[None, :, None, None]


def uses_reference(x, weight, bias=None):
    return layers.conv1x1(x, weight, bias)


def helper_that_uses_torch(x):
    return torch.as_tensor(x).numpy()


def indirectly_uses_torch(x, weight, bias=None):
    return helper_that_uses_torch(honest_conv1x1(x, weight, bias))


@pytest.mark.parametrize("cheat, words", [
    (uses_torch, "torch"), (uses_reference, "onebyone"), (indirectly_uses_torch, "torch")])
def test_forbidden_shortcuts_score_zero_with_a_reason(cheat, words):
    message = failure(check.conv1x1, cheat, X, W, B)
    assert words in message and "scores zero" in message


def test_the_runtime_watch_catches_what_the_names_hide():
    def cheat(x, w, b=None):
        sneaky = getattr(__import__("onebyone.layers").layers, "conv" + "1x1")
        return sneaky(x, w, b)

    assert "onebyone" in failure(check.conv1x1, cheat, X, W, B)
    torch_by_name = lambda x, w, b=None: __import__("torch").from_numpy(x).numpy()  # noqa: E731
    assert "torch" in failure(check.conv1x1, torch_by_name, X, W, B)


def honest_linear_as_conv1x1(linear):
    conv = nn.Conv2d(linear.in_features, linear.out_features, 1, bias=linear.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(linear.weight.view(*linear.weight.shape, 1, 1))
        if linear.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv


def test_linear_as_conv1x1_passes_and_catches_mistakes():
    check.linear_as_conv1x1(honest_linear_as_conv1x1, 6, 5, bias=True)
    check.linear_as_conv1x1(honest_linear_as_conv1x1, 4, 4, bias=False)

    def no_bias(linear):
        conv = honest_linear_as_conv1x1(linear)
        conv.bias = None
        return conv

    def transposed(linear):
        conv = honest_linear_as_conv1x1(linear)
        with torch.no_grad():
            conv.weight.copy_(linear.weight.T.reshape(conv.weight.shape))
        return conv

    def three_by_three(linear):
        return nn.Conv2d(linear.in_features, linear.out_features, 3, padding=1)

    assert "bias" in failure(check.linear_as_conv1x1, no_bias, 6, 5)
    assert "transposed" in failure(check.linear_as_conv1x1, transposed, 5, 5)
    assert "kernel size" in failure(check.linear_as_conv1x1, three_by_three, 6, 5)
    assert "Conv2d" in failure(check.linear_as_conv1x1, lambda lin: lin, 6, 5)


def test_conv1x1_cost_names_counting_mistakes():
    check.conv1x1_cost(lambda h, w, ci, co, b: (ci * co + b * co, h * w * ci * co), 28, 28, 192, 32,
                       True)
    wrong_bias = lambda h, w, ci, co, b: (ci * co + co, h * w * ci * co)  # noqa: E731
    assert "biases" in failure(check.conv1x1_cost, wrong_bias, 28, 28, 192, 32, False)
    one_pixel = lambda h, w, ci, co, b: (ci * co, ci * co)  # noqa: E731
    assert "one pixel" in failure(check.conv1x1_cost, one_pixel, 28, 28, 192, 32, False)
    assert "pair" in failure(check.conv1x1_cost, lambda *a: 5, 28, 28, 192, 32, False)


def test_compare_and_equal_helpers():
    with pytest.raises(CheckFailure, match="torch.Tensor"):
        compare_arrays(torch.ones(2, 2), np.ones((2, 2)), "x")
    compare_arrays(np.ones((2, 2)), np.ones((2, 2)), "x")
    with pytest.raises(CheckFailure, match="dimensions"):
        compare_arrays(np.ones(4), np.ones((2, 2)), "x")
    check_equal(6144, 6144, "n")
    with pytest.raises(CheckFailure, match="whole number"):
        check_equal(6144.0, 6144, "n")
    with pytest.raises(CheckFailure, match="whole number"):
        check_equal(True, 1, "n")
