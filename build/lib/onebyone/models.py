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


# --- Reference networks the chapters count -------------------------------------------------------

def alexnet(num_classes=1000, groups=2):
    """AlexNet as in Krizhevsky et al. (2012): five convolutions, three fully connected layers.

    `groups=2` keeps the paper's two-GPU split: conv2, conv4 and conv5 only see the half of the
    channels on their own GPU (conv3 and the fully connected layers see everything). `groups=1`
    is the same network on one device. Input (N, 3, 227, 227) -> (N, num_classes).
    """
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), nn.MaxPool2d(3, stride=2),      # 55 -> 27
        nn.Conv2d(96, 256, 5, padding=2, groups=groups), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),                               # 13
        nn.Conv2d(384, 384, 3, padding=1, groups=groups), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=groups), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.Flatten(),                                   # (N, 256, 6, 6) -> (N, 9216)
        nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, num_classes),
    )


# GoogLeNet's Inception modules (Szegedy et al. 2014, Table 1): name, then the arguments of
# Inception after in_channels: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj.
GOOGLENET_INCEPTIONS = (
    ("3a", 64, 96, 128, 16, 32, 32),
    ("3b", 128, 128, 192, 32, 96, 64),
    ("4a", 192, 96, 208, 16, 48, 64),
    ("4b", 160, 112, 224, 24, 64, 64),
    ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64),
    ("4e", 256, 160, 320, 32, 128, 128),
    ("5a", 256, 160, 320, 32, 128, 128),
    ("5b", 384, 192, 384, 48, 128, 128),
)
GOOGLENET_POOL_AFTER = ("3b", "4e")  # a 3×3 stride-2 max-pool follows these modules


def googlenet(num_classes=1000, naive=False):
    """GoogLeNet (Inception v1) as used at inference: the paper's Table 1, without the two
    auxiliary classifiers (they are dropped after training). Input (N, 3, 224, 224).

    `naive=True` builds the same network from naive modules (no 1×1 reductions, no pool
    projections): each module then passes all its input channels on through the pool branch, so
    the channel count grows from module to module.
    """
    layers = [
        nn.Conv2d(3, 64, 7, stride=2, padding=3), nn.ReLU(),            # 224 -> 112
        nn.MaxPool2d(3, stride=2, ceil_mode=True),                      # 112 -> 56
        nn.Conv2d(64, 64, 1), nn.ReLU(),
        nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),                      # 56 -> 28
    ]
    channels = 192
    for name, c1, c3r, c3, c5r, c5, proj in GOOGLENET_INCEPTIONS:
        if naive:
            c3r = c5r = proj = None
        module = Inception(channels, c1, c3r, c3, c5r, c5, proj)
        layers.append(module)
        channels = module.out_channels
        if name in GOOGLENET_POOL_AFTER:
            layers.append(nn.MaxPool2d(3, stride=2, ceil_mode=True))   # 28 -> 14 -> 7
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(),                 # (N, C, 7, 7) -> (N, C)
               nn.Dropout(0.4), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


# ResNet depths (He et al. 2015, Table 1): the block type and how many blocks in each of the
# four stages. Stage widths: 64, 128, 256, 512 (the bottleneck's inner width; it outputs 4×).
RESNET_STAGES = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
BOTTLENECK_EXPANSION = 4  # a bottleneck block outputs 4 × its inner width: 64 -> 256


def resnet(depth, num_classes=1000):
    """A ResNet of the paper's Table 1 (18, 34: basic blocks; 50, 101, 152: bottleneck blocks).

    The first block of stages 2-4 halves height and width (stride 2 on its 3×3 convolution) and
    has a projection shortcut; so does the first block of stage 1 in bottleneck networks, which
    widens 64 to 256 channels. Input (N, 3, 224, 224) -> (N, num_classes).
    """
    if depth not in RESNET_STAGES:
        raise ValueError(f"no ResNet of depth {depth!r}; known depths: {sorted(RESNET_STAGES)}")
    kind, counts = RESNET_STAGES[depth]
    layers = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64),
              nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1)]            # 224 -> 112 -> 56
    channels = 64
    for stage, count in enumerate(counts):
        width = 64 * 2 ** stage
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            if kind == "basic":
                layers.append(BasicBlock(channels, width, stride))
                channels = width
            else:
                out = width * BOTTLENECK_EXPANSION
                layers.append(Bottleneck(channels, width, out, stride))
                channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(),                   # (N, C, 7, 7) -> (N, C)
               nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


def shape_features(in_channels=1, width=32):
    """The convolutional body of the translation experiment: three "same" 3×3 convolutions,
    two 2×2 max-pools. (N, in_channels, H, W) -> (N, width, H/4, W/4)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, width // 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width // 2, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
    )


class ShapeNet(nn.Module):
    """The experiment's classifier: `shape_features`, then a head.

    head="gap": a 1×1 convolution to one map per class, averaged (GAPHead).
    head="fc": flatten the feature maps and apply one fully connected layer, which gives every
    position its own weights.
    """

    def __init__(self, num_classes, head="gap", image_size=32, width=32):
        super().__init__()
        if head not in ("gap", "fc"):
            raise ValueError(f"head must be 'gap' or 'fc', not {head!r}")
        self.features = shape_features(1, width)
        side = image_size // 4  # two 2×2 max-pools
        self.head = GAPHead(width, num_classes) if head == "gap" else nn.Sequential(
            nn.Flatten(), nn.Linear(width * side * side, num_classes))  # (N, C, h, w) -> (N, C·h·w)

    def forward(self, x):
        return self.head(self.features(x))

    def class_maps(self, x):
        """The GAP net's class activation maps (N, num_classes, H/4, W/4): the class scores
        before averaging, i.e. where in the image each class's evidence lies."""
        if not isinstance(self.head, GAPHead):
            raise TypeError("class activation maps need the 'gap' head")
        return self.head.class_maps(self.features(x))
