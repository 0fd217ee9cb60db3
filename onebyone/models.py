"""Torch modules the chapters build and count."""

import torch
from torch import nn


def linear_as_conv1x1(linear):
    """A 1×1 Conv2d that applies `linear` at every pixel: the same weights, reshaped.

    Linear weight (out, in) -> Conv2d weight (out, in, 1, 1).
    """
    conv = nn.Conv2d(linear.in_features, linear.out_features, kernel_size=1,
                     bias=linear.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(linear.weight[:, :, None, None])  # (out, in) -> (out, in, 1, 1)
        if linear.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv
