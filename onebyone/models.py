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


def mlpconv(in_channels, out_channels, kernel_size, stride=1, padding=0):
    """Network in Network's mlpconv block: a k×k convolution, then two 1×1 convolutions, each
    followed by ReLU. The 1×1 layers are the "micro network" applied at every position."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )


def nin(num_classes=1000, in_channels=3):
    """The ImageNet Network in Network: four mlpconv blocks, the last one producing one map per
    class, then global average pooling. Input (N, in_channels, 224, 224) -> (N, num_classes)."""
    return nn.Sequential(
        mlpconv(in_channels, 96, kernel_size=11, stride=4), nn.MaxPool2d(3, stride=2),
        mlpconv(96, 256, kernel_size=5, padding=2), nn.MaxPool2d(3, stride=2),
        mlpconv(256, 384, kernel_size=3, padding=1), nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5),
        mlpconv(384, num_classes, kernel_size=3, padding=1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (N, num_classes, h, w) -> (N, num_classes)
    )


def conv_relu(in_channels, out_channels, kernel_size):
    """A "same" convolution followed by ReLU (odd kernel sizes, stride 1)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size,
                                   padding=kernel_size // 2), nn.ReLU())


class Inception(nn.Module):
    """GoogLeNet's Inception module: four branches side by side, concatenated on channels.

    1×1 | 1×1 reduce -> 3×3 | 1×1 reduce -> 5×5 | 3×3 max-pool -> 1×1 projection.
    Every branch keeps the height and width. Pass `c3_reduce`, `c5_reduce` or `pool_proj` as
    None to drop that 1×1 layer: with all three None this is the naive module.
    """

    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()

        def reduced(reduce, out, k):
            if reduce is None:
                return conv_relu(in_channels, out, k)
            return nn.Sequential(conv_relu(in_channels, reduce, 1), conv_relu(reduce, out, k))

        self.branch1 = conv_relu(in_channels, c1, 1)
        self.branch3 = reduced(c3_reduce, c3, 3)
        self.branch5 = reduced(c5_reduce, c5, 5)
        pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.branch_pool = pool if pool_proj is None else nn.Sequential(
            pool, conv_relu(in_channels, pool_proj, 1))
        self.out_channels = c1 + c3 + c5 + (in_channels if pool_proj is None else pool_proj)

    def forward(self, x):
        branches = (self.branch1, self.branch3, self.branch5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)  # stack on channels


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3×3 convolutions with batch norm, added to the shortcut."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut = projection(in_channels, out_channels, stride)

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))  # ReLU after the addition


class Bottleneck(nn.Module):
    """ResNet's bottleneck block: 1×1 reduce, 3×3, 1×1 expand, each with batch norm.

    The stride sits on the 3×3 convolution (as in torchvision). The shortcut is the identity when
    the shape is unchanged, else a strided 1×1 projection with batch norm.
    """

    def __init__(self, in_channels, mid_channels, out_channels, stride=1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 1, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(),
            nn.Conv2d(mid_channels, mid_channels, 3, stride, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(),
            nn.Conv2d(mid_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut = projection(in_channels, out_channels, stride)

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))  # ReLU after the addition


def projection(in_channels, out_channels, stride):
    """A residual block's shortcut: identity if the shape is kept, else a 1×1 projection."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                         nn.BatchNorm2d(out_channels))


class GAPHead(nn.Module):
    """A classifier head with global average pooling: a 1×1 convolution to one map per class,
    then the mean of each map. (N, C, H, W) -> (N, num_classes) logits."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.classify = nn.Conv2d(in_channels, num_classes, kernel_size=1)

    def class_maps(self, x):
        """One map per class, before pooling: (N, C, H, W) -> (N, num_classes, H, W)."""
        return self.classify(x)

    def forward(self, x):
        return self.class_maps(x).mean(dim=(2, 3))  # (N, K, H, W) -> (N, K)
