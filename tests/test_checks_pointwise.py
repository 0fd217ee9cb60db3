"""The pointwise-today checks: honest answers pass, in any layer order; typical mistakes fail with
a message that names them."""

import numpy as np
import pytest
import torch
from torch import nn

from onebyone.checks import CheckFailure
from onebyone.checks import pointwise_today as check


def failure(fn, *args, **kwargs):
    with pytest.raises(CheckFailure) as caught:
        fn(*args, **kwargs)
    return str(caught.value)


class Separable(nn.Module):
    """An honest depthwise-separable layer, its layers defined pointwise first, under other
    names: the checks must find them by role."""

    def __init__(self, c_in, c_out, k=3, stride=1, groups=None, relu_last=True, bias=False):
        super().__init__()
        self.mix = nn.Conv2d(c_in, c_out, 1, bias=bias)
        self.mix_norm = nn.BatchNorm2d(c_out)
        self.spatial = nn.Conv2d(c_in, c_in, k, stride, k // 2, groups=groups or c_in,
                                 bias=False)
        self.spatial_norm = nn.BatchNorm2d(c_in)
        self.relu_last = relu_last

    def forward(self, x):
        x = torch.relu(self.spatial_norm(self.spatial(x)))
        x = self.mix_norm(self.mix(x))
        return torch.relu(x) if self.relu_last else x


def test_an_honest_separable_layer_passes_in_any_order():
    check.depthwise_separable(Separable, 6, 9)
    check.depthwise_separable(Separable, 5, 5, 5, 2, size=(8, 7))


@pytest.mark.parametrize("make, words", [
    (lambda ci, co, k, s: Separable(ci, co, k, s, groups=1), "groups=1: it mixes channels"),
    (lambda ci, co, k, s: Separable(ci, co, k, s, relu_last=False), "ReLU after the pointwise"),
    (lambda ci, co, k, s: Separable(ci, co, k, s, bias=True), "bias=False"),
    (lambda ci, co, k, s: nn.Sequential(nn.Conv2d(ci, ci, k, s, k // 2, groups=ci, bias=False),
                                        nn.BatchNorm2d(ci), nn.ReLU(),
                                        nn.Conv2d(ci, co, 1, bias=False), nn.ReLU()),
     "batch norm over"),
])
def test_separable_mistakes_are_named(make, words):
    assert words in failure(check.depthwise_separable, make, 6, 8)


def test_conv_costs_names_counting_mistakes():
    honest = lambda h, w, ci, co, k: (h * w * ci * co * k * k,  # noqa: E731
                                      h * w * ci * k * k + h * w * ci * co)
    check.conv_costs(honest, 56, 56, 128, 128, 3)
    no_depthwise = lambda h, w, ci, co, k: (h * w * ci * co * k * k, h * w * ci * co)  # noqa
    assert "depthwise half was left out" in failure(check.conv_costs, no_depthwise, 7, 7, 8, 4,
                                                    3)
    assert "pair" in failure(check.conv_costs, lambda *a: 3, 7, 7, 8, 4, 3)
    uses_torch = lambda h, w, ci, co, k: (int(torch.tensor(h * w * ci * co * k * k)), 0)  # noqa
    assert "scores zero" in failure(check.conv_costs, uses_torch, 7, 7, 8, 4, 3)


def test_break_even_names_the_question_turned_round_and_k1():
    def pairs(keep):
        return lambda mk, mc: [(k, c) for k in range(1, mk + 1) for c in range(1, mc + 1)
                               if keep(k, c)]

    check.break_even(pairs(lambda k, c: k == 1 or c == 1), 5, 8)
    cheaper = pairs(lambda k, c: 1 / c + 1 / k**2 < 1)
    assert "cheaper" in failure(check.break_even, cheaper, 5, 8)
    assert "per-channel scaling" in failure(check.break_even, pairs(lambda k, c: c == 1), 5, 8)
    assert "tuples" in failure(check.break_even, lambda mk, mc: [[1, 1]], 5, 8)


class Inverted(nn.Module):
    """An honest inverted residual block with its own names and layout; `mistake` breaks it."""

    def __init__(self, c_in, c_out, stride=1, t=6, mistake=None):
        super().__init__()
        hidden = (c_out if mistake == "widen-output" else c_in) * t
        self.project = nn.Sequential(nn.Conv2d(hidden, c_out, 1, bias=False),
                                     nn.BatchNorm2d(c_out))
        self.filter = nn.Sequential(nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden,
                                              bias=False), nn.BatchNorm2d(hidden), nn.ReLU6())
        self.expand = None if t == 1 else nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6())
        self.add = stride == 1 and c_in == c_out
        self.mistake = mistake

    def forward(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.filter(out))
        if self.mistake == "relu6":
            out = torch.clamp(out, 0, 6)
        if self.add and self.mistake != "no-add":
            out = out + x
        return out


def test_an_honest_inverted_residual_passes():
    check.inverted_residual(Inverted, 4, 4)
    check.inverted_residual(Inverted, 4, 6, stride=2, size=(7, 5))
    check.inverted_residual(Inverted, 3, 3, 1, 1)


def test_inverted_residual_mistakes_are_named():
    assert "must stay linear" in failure(
        check.inverted_residual, lambda *a: Inverted(*a, mistake="relu6"), 4, 4)
    assert "not added back" in failure(
        check.inverted_residual, lambda *a: Inverted(*a, mistake="no-add"), 4, 4)
    assert "multiplies in_channels" in failure(
        check.inverted_residual, lambda *a: Inverted(*a, mistake="widen-output"), 3, 5)


def test_channel_shuffle_names_the_wrong_direction():
    honest = lambda x, g: x.reshape(x.shape[0], g, -1, *x.shape[2:]).swapaxes(1, 2).reshape(  # noqa
        x.shape)
    x = np.random.default_rng(0).normal(size=(2, 6, 2, 3))
    check.channel_shuffle(honest, x, 2)
    backwards = lambda x, g: honest(x, x.shape[1] // g)  # noqa: E731
    assert "other way" in failure(check.channel_shuffle, backwards, x, 2)
    assert "unshuffled" in failure(check.channel_shuffle, lambda x, g: x.copy(), x, 2)
