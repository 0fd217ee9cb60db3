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


def mlpconv(in_channels, out_channels, kernel_size, stride=1, padding=0, mid_channels=None):
    """Network in Network's mlpconv block: a k×k convolution, then two 1×1 convolutions, each
    followed by ReLU. The 1×1 layers are the "micro network" applied at every position.

    `mid_channels` is the width of the first two layers (default: `out_channels`, all three
    layers equally wide).
    """
    mid = out_channels if mid_channels is None else mid_channels
    return nn.Sequential(
        nn.Conv2d(in_channels, mid, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(mid, mid, kernel_size=1), nn.ReLU(),
        nn.Conv2d(mid, out_channels, kernel_size=1), nn.ReLU(),
    )


def nin(num_classes=1000, in_channels=3):
    """A compact ImageNet Network in Network (the pattern d2l.ai teaches, there with 10
    classes): four mlpconv blocks, the last one num_classes wide throughout, then global average
    pooling.
    Input (N, in_channels, 224, 224) -> (N, num_classes).

    The model the NIN authors released (`nin_released`) has a wider last block and max-pools
    that round up.
    """
    return _nin(in_channels, num_classes, last_mid=num_classes, ceil_mode=False)


def nin_released(num_classes=1000, in_channels=3):
    """The ImageNet NIN its authors released in Caffe's model zoo (not described in the paper):
    as `nin`, but the last block is 384 -> 1024 -> 1024 -> num_classes, and the max-pools round
    their output size up, as Caffe's do (224 -> 54 -> 27 -> 13 -> 6 on a 224×224 image)."""
    return _nin(in_channels, num_classes, last_mid=1024, ceil_mode=True)


def _nin(in_channels, num_classes, last_mid, ceil_mode):
    """Four mlpconv blocks, max-pools between the first three, dropout, global average pooling."""
    def pool():
        return nn.MaxPool2d(3, stride=2, ceil_mode=ceil_mode)

    return nn.Sequential(
        mlpconv(in_channels, 96, kernel_size=11, stride=4), pool(),
        mlpconv(96, 256, kernel_size=5, padding=2), pool(),
        mlpconv(256, 384, kernel_size=3, padding=1), pool(),
        nn.Dropout(0.5),
        mlpconv(384, num_classes, kernel_size=3, padding=1, mid_channels=last_mid),
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

    By default the stride sits on the 3×3 convolution, as in torchvision ("ResNet v1.5");
    `stride_on="1x1"` puts it on the first 1×1 convolution, as in the ResNet paper's released
    models ("v1"). The shortcut is the identity when the shape is unchanged, else a strided 1×1
    projection with batch norm.
    """

    def __init__(self, in_channels, mid_channels, out_channels, stride=1, stride_on="3x3"):
        super().__init__()
        if stride_on not in ("3x3", "1x1"):
            raise ValueError(f"stride_on must be '3x3' or '1x1', not {stride_on!r}")
        first, middle = (stride, 1) if stride_on == "1x1" else (1, stride)
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 1, first, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(),
            nn.Conv2d(mid_channels, mid_channels, 3, middle, padding=1, bias=False),
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
GOOGLENET_STEM_CHANNELS = 192  # what the layers before the first module hand to it


def googlenet_module_inputs():
    """The channels each of GoogLeNet's Inception modules receives: {name: in_channels}, 192
    for 3a, then each module's output (#1×1 + #3×3 + #5×5 + pool proj)."""
    inputs, channels = {}, GOOGLENET_STEM_CHANNELS
    for name, c1, _, c3, _, c5, proj in GOOGLENET_INCEPTIONS:
        inputs[name] = channels
        channels = c1 + c3 + c5 + proj
    return inputs


def googlenet(num_classes=1000, naive=False, pool_projections=True):
    """GoogLeNet (Inception v1) as used at inference: the paper's Table 1, without the two
    auxiliary classifiers (they are dropped after training). Input (N, 3, 224, 224).

    `naive=True` builds the same network from naive modules (no 1×1 reductions, no pool
    projections): each module then passes all its input channels on through the pool branch, so
    the channel count grows from module to module. `pool_projections=False` drops only the pool
    projections and keeps the reductions: the channels grow just as much, the cost less.
    """
    layers = [
        nn.Conv2d(3, 64, 7, stride=2, padding=3), nn.ReLU(),            # 224 -> 112
        nn.MaxPool2d(3, stride=2, ceil_mode=True),                      # 112 -> 56
        nn.Conv2d(64, 64, 1), nn.ReLU(),
        nn.Conv2d(64, GOOGLENET_STEM_CHANNELS, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),                      # 56 -> 28
    ]
    channels = GOOGLENET_STEM_CHANNELS
    for name, c1, c3r, c3, c5r, c5, proj in GOOGLENET_INCEPTIONS:
        if naive:
            c3r = c5r = None
        if naive or not pool_projections:
            proj = None
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
# Where a strided bottleneck block puts its stride: the paper's released models ("v1") on the
# first 1×1 convolution, torchvision ("v1.5") on the 3×3 convolution.
RESNET_LAYOUTS = {"v1": "1x1", "v1.5": "3x3"}


def resnet(depth, num_classes=1000, layout="v1.5"):
    """A ResNet of the paper's Table 1 (18, 34: basic blocks; 50, 101, 152: bottleneck blocks).

    The first block of stages 2-4 halves height and width (stride 2) and has a projection
    shortcut; so does the first block of stage 1 in bottleneck networks, which widens 64 to 256
    channels. In bottleneck blocks, layout "v1.5" (torchvision's) puts the stride on the 3×3
    convolution, "v1" (the paper's released models) on the first 1×1 convolution; basic blocks
    are the same in both. Input (N, 3, 224, 224) -> (N, num_classes).
    """
    if depth not in RESNET_STAGES:
        raise ValueError(f"no ResNet of depth {depth!r}; known depths: {sorted(RESNET_STAGES)}")
    if layout not in RESNET_LAYOUTS:
        raise ValueError(f"layout must be one of {sorted(RESNET_LAYOUTS)}, not {layout!r}")
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
                layers.append(Bottleneck(channels, width, out, stride,
                                         stride_on=RESNET_LAYOUTS[layout]))
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


def receptive_columns(body, size):
    """For each output column of `body` (Conv2d and MaxPool2d layers, anything else
    shape-preserving) on a `size`-pixel-wide input: the first and last input pixel column it
    depends on, clipped to the image. Follows each layer's kernel, stride and padding."""
    first, span, step = 0, 1, 1   # output column c sees input columns first + c·step, + span
    width = size
    for layer in body:
        if not isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
            continue
        k, s, p = (v if isinstance(v, int) else v[-1]
                   for v in (layer.kernel_size, layer.stride, layer.padding))
        first -= p * step
        span += (k - 1) * step
        step *= s
        width = (width + 2 * p - k) // s + 1
    return [(max(first + c * step, 0), min(first + c * step + span - 1, size - 1))
            for c in range(width)]


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


# --- The 1×1 convolution today: pointwise, grouped, squeezed --------------------------------------

def conv_norm_act(in_channels, out_channels, kernel_size, stride=1, groups=1, act=nn.ReLU):
    """A convolution without bias ("same" padding for odd kernels), batch norm, then `act`
    (None for no activation). groups=in_channels=out_channels makes it depthwise."""
    layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2,
                        groups=groups, bias=False),
              nn.BatchNorm2d(out_channels)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class DepthwiseSeparable(nn.Module):
    """MobileNet's depthwise-separable convolution: a k×k depthwise convolution (one filter per
    channel, groups=in_channels: it never mixes channels), then a 1×1 pointwise convolution (it
    mixes channels and never looks at neighbours). Each is followed by batch norm and ReLU.
    The stride sits on the depthwise half. (N, C_in, H, W) -> (N, C_out, H/stride, W/stride)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1):
        super().__init__()
        self.depthwise = conv_norm_act(in_channels, in_channels, kernel_size, stride,
                                       groups=in_channels)
        self.pointwise = conv_norm_act(in_channels, out_channels, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


# MobileNet v1 (Howard et al. 2017, Table 1): after a 3×3 stride-2 convolution to 32 channels,
# thirteen depthwise-separable layers, given as (output channels, stride). The paper's table
# prints stride 2 on the last depthwise layer, but its sizes (7×7 in and out) and the authors'
# released definition (tensorflow/models, slim mobilenet_v1.py) have stride 1 there.
MOBILENET_V1_LAYERS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                       (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
                       (1024, 2), (1024, 1))


def mobilenet_v1(num_classes=1000):
    """MobileNet v1 at width 1.0. Input (N, 3, 224, 224) -> (N, num_classes)."""
    layers = [conv_norm_act(3, 32, 3, stride=2)]                            # 224 -> 112
    channels = 32
    for out, stride in MOBILENET_V1_LAYERS:
        layers.append(DepthwiseSeparable(channels, out, 3, stride))
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (N, 1024, 7, 7) -> (N, 1024)
               nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's inverted residual block with a linear bottleneck.

    Expand with a 1×1 convolution to `expansion` × in_channels (skipped when expansion is 1),
    filter with a 3×3 depthwise convolution carrying the stride, project with a 1×1 convolution
    to out_channels. Batch norm after each; ReLU6 after the first two only: the projection is
    linear. The input is added back when the shape is kept (stride 1, in == out).
    """

    def __init__(self, in_channels, out_channels, stride=1, expansion=6):
        super().__init__()
        hidden = in_channels * expansion
        layers = [] if expansion == 1 else [conv_norm_act(in_channels, hidden, 1, act=nn.ReLU6)]
        layers += [conv_norm_act(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                   conv_norm_act(hidden, out_channels, 1, act=None)]  # linear bottleneck
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x):
        out = self.body(x)
        return x + out if self.residual else out  # no activation after the addition


# MobileNetV2 (Sandler et al. 2018, Table 2): (expansion t, output channels c, repeats n,
# stride s of the first repeat), after a 3×3 stride-2 convolution to 32 channels.
MOBILENET_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(num_classes=1000):
    """MobileNetV2 at width 1.0, laid out as torchvision's mobilenet_v2 (a 1×1 convolution to 1280
    channels, global average pooling, dropout 0.2, a linear classifier).
    Input (N, 3, 224, 224) -> (N, num_classes)."""
    layers = [conv_norm_act(3, 32, 3, stride=2, act=nn.ReLU6)]             # 224 -> 112
    channels = 32
    for t, c, n, s in MOBILENET_V2_STAGES:
        for i in range(n):
            layers.append(InvertedResidual(channels, c, s if i == 0 else 1, t))
            channels = c
    layers += [conv_norm_act(channels, 1280, 1, act=nn.ReLU6),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (N, 1280, 7, 7) -> (N, 1280)
               nn.Dropout(0.2), nn.Linear(1280, num_classes)]
    return nn.Sequential(*layers)


def channel_shuffle(x, groups):
    """ShuffleNet's channel shuffle: deal the channels of `groups` groups out like cards, one from
    each group in turn, so that each group of the next grouped convolution sees channels from
    every group (when a group holds at least `groups` channels; with fewer, from only some).
    Channel order g0c0, g0c1, g1c0, g1c1 -> g0c0, g1c0, g0c1, g1c1."""
    n, c, h, w = x.shape
    if c % groups:
        raise ValueError(f"{c} channels do not split into {groups} groups")
    # (N, C, H, W) -> (N, g, C/g, H, W) -> (N, C/g, g, H, W) -> (N, C, H, W)
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def channel_matrix(conv):
    """A 1×1 convolution's weight as one (C_out, C_in) channel-mixing matrix. A grouped
    convolution's matrix is block-diagonal: zeros where a group does not see a channel."""
    if conv.kernel_size != (1, 1):
        raise ValueError(f"not a 1×1 convolution: kernel {conv.kernel_size}")
    c_out, c_in, g = conv.out_channels, conv.in_channels, conv.groups
    weight = conv.weight.detach()[:, :, 0, 0]           # (C_out, C_in/g, 1, 1) -> (C_out, C_in/g)
    dense = torch.zeros(c_out, c_in, dtype=weight.dtype)
    step_out, step_in = c_out // g, c_in // g
    for group in range(g):
        rows = slice(group * step_out, (group + 1) * step_out)
        dense[rows, group * step_in:(group + 1) * step_in] = weight[rows]
    return dense


class Fire(nn.Module):
    """SqueezeNet's fire module: squeeze with a 1×1 convolution, then expand with a 1×1 and a
    3×3 convolution side by side, concatenated on channels; ReLU after each convolution."""

    def __init__(self, in_channels, squeeze, expand1x1, expand3x3):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(in_channels, squeeze, 1), nn.ReLU())
        self.expand1x1 = nn.Sequential(nn.Conv2d(squeeze, expand1x1, 1), nn.ReLU())
        self.expand3x3 = nn.Sequential(nn.Conv2d(squeeze, expand3x3, 3, padding=1), nn.ReLU())
        self.out_channels = expand1x1 + expand3x3

    def forward(self, x):
        s = self.squeeze(x)
        return torch.cat([self.expand1x1(s), self.expand3x3(s)], dim=1)  # stack on channels


# SqueezeNet v1.0 (Iandola et al. 2016, Table 1): fire2 ... fire9 as (squeeze, expand 1×1,
# expand 3×3); a 3×3 stride-2 max-pool follows conv1, fire4 and fire8.
SQUEEZENET_FIRES = ((16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128),
                    (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256))
SQUEEZENET_POOL_AFTER = (4, 8)  # fire numbers


def squeezenet_head(in_channels, num_classes, dropout=0.5):
    """SqueezeNet's classifier, the NIN head: a 1×1 convolution to one map per class (conv10),
    ReLU, then global average pooling. (N, C, H, W) -> (N, num_classes)."""
    return nn.Sequential(nn.Dropout(dropout), nn.Conv2d(in_channels, num_classes, 1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())


def squeezenet(num_classes=1000):
    """SqueezeNet v1.0: conv1 (7×7, stride 2, 96), eight fire modules, conv10 and global average
    pooling. Input (N, 3, 224, 224) -> (N, num_classes)."""
    layers = [nn.Conv2d(3, 96, 7, stride=2), nn.ReLU(),
              nn.MaxPool2d(3, stride=2, ceil_mode=True)]
    channels = 96
    for number, (s, e1, e3) in enumerate(SQUEEZENET_FIRES, start=2):
        layers.append(Fire(channels, s, e1, e3))
        channels = e1 + e3
        if number in SQUEEZENET_POOL_AFTER:
            layers.append(nn.MaxPool2d(3, stride=2, ceil_mode=True))
    return nn.Sequential(*layers, squeezenet_head(channels, num_classes))


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): average each channel to one number, pass the
    C numbers through two fully connected layers (written as 1×1 convolutions on a 1×1 map),
    and scale each channel by the sigmoid of the result."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        s = x.mean(dim=(2, 3), keepdim=True)                       # (N, C, H, W) -> (N, C, 1, 1)
        s = torch.sigmoid(self.expand(torch.relu(self.reduce(s))))
        return x * s                                               # one scale per channel


# --- Plain against residual: the degradation experiment of the ResNet chapter --------------------

class PlainBlock(BasicBlock):
    """A basic block without its shortcut: the same layers (and, from the same seed, the same
    initial weights) as BasicBlock, but the output is ReLU(body(x)) instead of
    ReLU(body(x) + x). Stacking these gives the paper's "plain" network."""

    def __init__(self, channels):
        super().__init__(channels, channels)  # same shape in and out: the shortcut is identity

    def forward(self, x):
        return torch.relu(self.body(x))  # no addition: nothing skips the two convolutions


def stacked_net(blocks, residual, width=16, in_channels=1, num_classes=10):
    """A small classifier: a 3×3 convolution with batch norm, `blocks` blocks of two 3×3
    convolutions at `width` channels (BasicBlock if `residual`, else PlainBlock), global average
    pooling and one fully connected layer. 2·blocks + 2 layers with weights; the image size is
    kept throughout. (N, in_channels, H, W) -> (N, num_classes)."""
    block = (lambda: BasicBlock(width, width)) if residual else (lambda: PlainBlock(width))
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
        nn.ReLU(),
        *(block() for _ in range(blocks)),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),             # (N, width, H, W) -> (N, width)
        nn.Linear(width, num_classes),
    )
