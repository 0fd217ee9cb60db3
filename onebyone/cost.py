"""What a convolution costs: parameters and multiplications.

Two ways to the same numbers: closed-form formulas (what the notes do by hand) and counts
taken from a real torch model with forward hooks. The tests check that both agree.
"""

from dataclasses import dataclass

import torch
from torch import nn


def conv_params(c_in, c_out, k, bias=False, groups=1):
    """Learnable numbers in a k×k convolution from c_in to c_out channels."""
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


def conv_mults(h_out, w_out, c_in, c_out, k, groups=1):
    """Multiplications of a k×k convolution: one k·k·c_in dot product per output value."""
    return h_out * w_out * c_out * (c_in // groups) * k * k


def linear_params(n_in, n_out, bias=True):
    """Learnable numbers in a fully connected layer."""
    return n_out * n_in + (n_out if bias else 0)


@dataclass(frozen=True)
class LayerCost:
    """One counted layer of a model run on one input."""

    name: str
    kind: str
    in_shape: tuple
    out_shape: tuple
    params: int
    mults: int


def _layer_cost(name, module, inputs, output):
    """Cost of one Conv2d or Linear call, from the shapes it actually saw (batch of 1)."""
    in_shape = tuple(inputs[0].shape[1:])
    out_shape = tuple(output.shape[1:])
    params = sum(p.numel() for p in module.parameters(recurse=False))
    if isinstance(module, nn.Conv2d):
        c_out, h_out, w_out = out_shape
        kh, kw = module.kernel_size
        mults = h_out * w_out * c_out * (module.in_channels // module.groups) * kh * kw
    else:  # nn.Linear: one multiplication per weight
        mults = module.in_features * module.out_features
    return LayerCost(name, type(module).__name__, in_shape, out_shape, params, mults)


def count_model(model, input_shape):
    """Run `model` once on zeros of `input_shape` (C, H, W) and count every Conv2d and Linear.

    Returns a list of LayerCost in the order the layers ran. A layer used twice is counted twice,
    as it costs twice the multiplications.
    """
    records = []
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            hook = (lambda n: lambda m, i, o: records.append(_layer_cost(n, m, i, o)))(name)
            handles.append(module.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape)))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return records


def total_params(model):
    """All learnable numbers in a torch model."""
    return sum(p.numel() for p in model.parameters())


def total_mults(model, input_shape):
    """All multiplications of the model's Conv2d and Linear layers on one input."""
    return sum(layer.mults for layer in count_model(model, input_shape))
