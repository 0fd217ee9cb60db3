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


@pytest.mark.parametrize("c_in, c_out, k, stride, size", [(32, 64, 3, 1, 14), (16, 8, 5, 2, 9),
                                                          (3, 40, 3, 2, 7)])
def test_separable_formulas_agree_with_hooks(c_in, c_out, k, stride, size):
    layer = models.DepthwiseSeparable(c_in, c_out, k, stride)
    out = -(-size // stride)
    assert cost.total_mults(layer, (c_in, size, size)) == cost.separable_mults(out, out, c_in,
                                                                               c_out, k)
    norms = cost.batch_norm_params(c_in) + cost.batch_norm_params(c_out)
    assert cost.total_params(layer) == cost.separable_params(c_in, c_out, k) + norms


@pytest.mark.parametrize("c_in, c_out, k", [(32, 64, 3), (7, 3, 5), (100, 1, 1)])
def test_separable_ratio_is_the_ratio_of_the_counts(c_in, c_out, k):
    standard = cost.conv_mults(10, 10, c_in, c_out, k)
    assert cost.separable_mults(10, 10, c_in, c_out, k) / standard == pytest.approx(
        cost.separable_ratio(c_out, k))
    assert cost.separable_params(c_in, c_out, k) / cost.conv_params(c_in, c_out, k) == (
        pytest.approx(cost.separable_ratio(c_out, k)))


@pytest.mark.parametrize("c_in, c_out, stride, t, size", [(16, 16, 1, 6, 8), (16, 24, 2, 6, 9),
                                                          (32, 16, 1, 1, 5)])
def test_inverted_residual_formulas_agree_with_hooks(c_in, c_out, stride, t, size):
    block = models.InvertedResidual(c_in, c_out, stride, t)
    assert cost.total_params(block) == cost.inverted_residual_params(c_in, c_out, t)
    assert cost.total_mults(block, (c_in, size, size)) == cost.inverted_residual_mults(
        size, size, c_in, c_out, t, stride)


def test_cost_by_kind_sorts_every_layer():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, groups=8),
                        nn.Conv2d(8, 16, 1), nn.Conv2d(16, 16, 1, groups=4),
                        nn.Conv2d(16, 16, 3, groups=2), nn.Flatten(), nn.Linear(16 * 4 * 4, 5))
    split = cost.cost_by_kind(net, (3, 8, 8))
    assert set(split) == {"k×k (standard)", "depthwise", "1×1 (pointwise)", "grouped",
                          "fully connected"}
    assert sum(p for p, _ in split.values()) == cost.total_params(net)
    assert sum(m for _, m in split.values()) == cost.total_mults(net, (3, 8, 8))
    assert split["1×1 (pointwise)"][0] == cost.conv_params(8, 16, 1, bias=True) + (
        cost.conv_params(16, 16, 1, bias=True, groups=4))


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


@pytest.mark.parametrize("build, shape", [
    (lambda: models.resnet(18, layout="v1"), (3, 64, 64)),
    (lambda: models.resnet(50), (3, 64, 64)),
    (lambda: models.mobilenet_v2(), (3, 64, 64)),
    (lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(), nn.ReLU6(),
                           nn.Hardswish(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 7 * 7, 5),
                           nn.BatchNorm1d(5)), (3, 16, 16)),
])
def test_a_count_on_the_meta_device_is_the_count_on_real_weights(build, shape):
    """A "meta" model is counted through a weightless CPU twin on an empty batch: every layer's
    shapes, parameters and multiplications are those of a run on real numbers, and the model
    itself stays on "meta", in the mode it was in."""
    torch.manual_seed(0)
    real = build()
    with torch.device("meta"):
        meta = build()
    assert cost.count_model(meta, shape) == cost.count_model(real, shape)
    assert cost.layer_rows(meta, shape) == cost.layer_rows(real, shape)
    assert cost.block_rows(meta, shape) == cost.block_rows(real, shape)
    assert all(p.is_meta for p in meta.parameters()) and meta.training
    assert not any(m._forward_hooks for m in meta.modules())


def test_the_count_copy_bytes_are_what_the_cpu_twin_holds():
    """Counted two ways: the storages the twin of a "meta" ResNet-50 really holds, and float32
    weights and running statistics plus one int64 counter per batch norm."""
    with torch.device("meta"):
        net = models.resnet(50)
    twin = cost._weightless_cpu_twin(net)
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                for t in list(twin.parameters()) + list(twin.buffers())}
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    statistics = 2 * sum(m.num_features for m in norms)   # running mean and variance
    assert cost.count_copy_bytes(net) == sum(storages.values())
    assert cost.count_copy_bytes(net) == 4 * (cost.total_params(net) + statistics) + 8 * len(norms)
