"""The NumPy reference operations against torch, on random shapes and seeds."""

import numpy as np
import pytest
import torch

from onebyone import layers, models


@pytest.mark.parametrize("seed", range(8))
def test_conv1x1_matches_torch_conv2d(seed):
    g = np.random.default_rng(seed)
    n, c_in, c_out, h, w = g.integers(1, 9, size=5)
    x = g.normal(size=(n, c_in, h, w))
    weight, bias = g.normal(size=(c_out, c_in)), g.normal(size=c_out)
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(weight)[:, :, None, None], torch.from_numpy(bias))
    np.testing.assert_allclose(layers.conv1x1(x, weight, bias), expected.numpy(), atol=1e-12)
    np.testing.assert_allclose(
        layers.conv1x1(x, weight),
        torch.nn.functional.conv2d(torch.from_numpy(x),
                                   torch.from_numpy(weight)[:, :, None, None]).numpy(),
        atol=1e-12)


def test_conv1x1_rejects_mismatched_channels():
    with pytest.raises(ValueError, match="input channels"):
        layers.conv1x1(np.zeros((1, 3, 2, 2)), np.zeros((4, 5)))


@pytest.mark.parametrize("seed", range(4))
def test_global_avg_pool_matches_torch(seed):
    x = np.random.default_rng(seed).normal(size=(3, 5, 4, 7))
    expected = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(x), 1).flatten(1)
    np.testing.assert_allclose(layers.global_avg_pool(x), expected.numpy(), atol=1e-12)


def test_relu_matches_torch():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 4))
    np.testing.assert_array_equal(layers.relu(x), torch.relu(torch.from_numpy(x)).numpy())


@pytest.mark.parametrize("bias", [True, False])
def test_linear_as_conv1x1_computes_the_linear_at_every_pixel(bias):
    torch.manual_seed(0)
    linear = torch.nn.Linear(6, 5, bias=bias)
    conv = models.linear_as_conv1x1(linear)
    x = torch.randn(2, 6, 3, 4)
    with torch.no_grad():
        by_linear = linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # NHWC -> NCHW
        torch.testing.assert_close(conv(x), by_linear)
    np.testing.assert_allclose(conv.weight.detach().numpy()[:, :, 0, 0],
                               linear.weight.detach().numpy())
