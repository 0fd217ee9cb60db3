"""Closed-form cost formulas against counts taken from real torch models."""

import pytest
import torch
from torch import nn

from onebyone import cost, models

LAYERS = [  # (c_in, c_out, k, stride, padding, groups, bias, input (C, H, W))
    (192, 32, 1, 1, 0, 1, False, (192, 28, 28)),
    (192, 32, 5, 1, 2, 1, True, (192, 28, 28)),
    (3, 96, 11, 4, 0, 1, True, (3, 224, 224)),
    (64, 64, 3, 2, 1, 1, False, (64, 15, 15)),
    (32, 32, 3, 1, 1, 32, True, (32, 8, 8)),
]


@pytest.mark.parametrize("c_in, c_out, k, stride, padding, groups, bias, shape", LAYERS)
def test_formulas_agree_with_hooks_on_one_layer(c_in, c_out, k, stride, padding, groups, bias,
                                                shape):
    conv = nn.Conv2d(c_in, c_out, k, stride, padding, groups=groups, bias=bias)
    [counted] = cost.count_model(conv, shape)
    _, h_out, w_out = counted.out_shape
    assert counted.out_shape == tuple(conv(torch.zeros(1, *shape)).shape[1:])
    assert counted.params == cost.conv_params(c_in, c_out, k, bias=bias, groups=groups)
    assert counted.params == cost.total_params(conv)
    assert counted.mults == cost.conv_mults(h_out, w_out, c_in, c_out, k, groups=groups)


def test_formulas_agree_with_hooks_on_a_small_network():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    layers = cost.count_model(net, (3, 16, 16))
    assert [layer.kind for layer in layers] == ["Conv2d", "Conv2d", "Linear"]
    assert sum(layer.params for layer in layers) == cost.total_params(net)
    expected_mults = (cost.conv_mults(16, 16, 3, 8, 3) + cost.conv_mults(16, 16, 8, 4, 1)
                      + 4 * 10)
    assert cost.total_mults(net, (3, 16, 16)) == expected_mults
    expected_params = (cost.conv_params(3, 8, 3, bias=True) + cost.conv_params(8, 4, 1, bias=True)
                       + cost.linear_params(4, 10))
    assert cost.total_params(net) == expected_params


def test_inception_module_counts_match_formulas():
    block = models.Inception(192, 64, 96, 128, 16, 32, 32)
    convs = [(192, 64, 1), (192, 96, 1), (96, 128, 3), (192, 16, 1), (16, 32, 5), (192, 32, 1)]
    by_formula = sum(cost.conv_params(c_in, c_out, k, bias=True) for c_in, c_out, k in convs)
    assert cost.total_params(block) == by_formula
    assert sum(layer.params for layer in cost.count_model(block, (192, 28, 28))) == by_formula


def test_count_model_restores_training_mode_and_removes_hooks():
    net = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2))
    net.train()
    cost.count_model(net, (2, 4, 4))
    assert net.training
    assert all(not m._forward_hooks for m in net.modules())


def _conv_weights(module):
    """Weights of every convolution in `module`, biases left out (counted by torch)."""
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


def test_googlenet_module_weights_match_torch_modules_on_their_real_inputs():
    """Each module of the built GoogLeNet against a naive module on the same input: the table
    of cost.googlenet_module_weights, counted from torch."""
    with torch.device("meta"):
        net = models.googlenet()
        modules = [m for m in net if isinstance(m, models.Inception)]
        table = cost.googlenet_module_weights()
        assert len(modules) == len(table) == 9
        for module, (name, c1, _, c3, _, c5, _) in zip(modules, models.GOOGLENET_INCEPTIONS,
                                                       strict=True):
            c_in = module.branch1[0].in_channels
            assert models.googlenet_module_inputs()[name] == c_in
            naive = models.Inception(c_in, c1, None, c3, None, c5, None)
            assert table[name] == (_conv_weights(naive), _conv_weights(module)), name
