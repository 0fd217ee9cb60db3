"""Mutants: the reference solutions, each with one realistic mistake.

A mutant names its assignment, the solution cell it changes (by nbgrader grade_id), one snippet of
that cell's solution code and what replaces it, and the items whose tests must catch it. An item
is a graded function or class: its tests are the cells `test_<item>_public` and
`test_<item>_hidden`. The mutant must lose points on those items and keep every other point.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    assignment: str
    name: str
    cell: str  # grade_id of the solution cell the mistake goes into
    old: str  # must occur exactly once in that cell's solution code
    new: str
    breaks: tuple  # items whose tests must lose points
    more: tuple = ()  # further (old, new) edits of the same cell, for a mistake in two places

    @property
    def edits(self):
        return ((self.old, self.new), *self.more)

    @property
    def id(self):
        return f"{self.assignment}/{self.name}"


MUTANTS = [
    # --- one-by-one ---------------------------------------------------------------------------
    Mutant("one-by-one", "conv1x1-weight-transposed", "conv1x1",
           '"goc,ngchw->ngohw"', '"gco,ngchw->ngohw"', ("conv1x1",)),
    Mutant("one-by-one", "conv1x1-bias-dropped", "conv1x1",
           "out = out + bias[None, :, None, None]", "out = out", ("conv1x1",)),
    Mutant("one-by-one", "conv1x1-relu-added", "conv1x1",
           "    return out", "    return np.maximum(out, 0.0)", ("conv1x1",)),
    Mutant("one-by-one", "conv1x1-bias-on-width", "conv1x1",
           "bias[None, :, None, None]", "bias[None, None, None, :]", ("conv1x1",)),
    Mutant("one-by-one", "conv1x1-groups-interleaved", "conv1x1",
           "blocks = x.reshape(n, groups, c_in // groups, h, w)",
           "blocks = x.reshape(n, c_in // groups, groups, h, w).swapaxes(1, 2)", ("conv1x1",),
           more=(("filters = weight.reshape(groups, c_out // groups, c_in // groups)",
                  "filters = weight.reshape(c_out // groups, groups, c_in // groups)"
                  ".swapaxes(0, 1)"),
                 (".reshape(n, c_out, h, w)\n", ".swapaxes(1, 2).reshape(n, c_out, h, w)\n"))),
    Mutant("one-by-one", "fc-weight-shared", "fc_as_conv",
           "conv.weight.copy_(linear.weight.reshape(linear.out_features, channels, height, width))",
           "conv.weight = nn.Parameter(linear.weight.reshape(linear.out_features, channels, "
           "height, width))", ("fc_as_conv",)),
    Mutant("one-by-one", "fc-bias-shared", "fc_as_conv",
           "conv.bias.copy_(linear.bias)", "conv.bias = linear.bias", ("fc_as_conv",)),
    Mutant("one-by-one", "fc-weight-channels-last", "fc_as_conv",
           "linear.weight.reshape(linear.out_features, channels, height, width)",
           "linear.weight.reshape(linear.out_features, height, width, channels)"
           ".permute(0, 3, 1, 2)", ("fc_as_conv",)),
    Mutant("one-by-one", "fc-bias-dropped", "fc_as_conv",
           "has_bias = linear.bias is not None", "has_bias = False", ("fc_as_conv",)),
    Mutant("one-by-one", "fold-bias-dropped", "fold_1x1",
           "return folded, weight1x1 @ bias + bias1x1", "return folded, bias1x1",
           ("fold_1x1",)),
    Mutant("one-by-one", "fold-own-bias-left-out", "fold_1x1",
           "weight1x1 @ bias + bias1x1", "weight1x1 @ bias", ("fold_1x1",)),
    Mutant("one-by-one", "fold-biases-added", "fold_1x1",
           "weight1x1 @ bias + bias1x1", "bias + bias1x1", ("fold_1x1",)),
    Mutant("one-by-one", "fold-1x1-transposed", "fold_1x1",
           "mixed = weight1x1 @ filters", "mixed = weight1x1.T @ filters", ("fold_1x1",)),

    # --- network-in-network -------------------------------------------------------------------
    Mutant("network-in-network", "maxout-pieces-interleaved", "maxout",
           "linear.reshape(n, units, pieces, h, w).max(axis=2)",
           "linear.reshape(n, pieces, units, h, w).max(axis=1)", ("maxout",)),
    Mutant("network-in-network", "maxout-relu-added", "maxout",
           "    return linear.reshape", "    return np.maximum(0, linear).reshape", ("maxout",)),
    Mutant("network-in-network", "maxout-bias-dropped", "maxout",
           " + bias[None, :, None, None]", "", ("maxout",)),
    Mutant("network-in-network", "maxout-mean-not-max", "maxout",
           ".max(axis=2)", ".mean(axis=2)", ("maxout",)),
    Mutant("network-in-network", "rf-strides-ignored", "receptive_field",
           "        step *= stride\n", "", ("receptive_field",)),
    Mutant("network-in-network", "rf-stride-applied-to-its-own-kernel", "receptive_field",
           "        size += span * step\n        step *= stride",
           "        step *= stride\n        size += span * step", ("receptive_field",)),
    Mutant("network-in-network", "rf-dilation-ignored", "receptive_field",
           "(kernel_size - 1) * (dilation[0] if dilation else 1)", "(kernel_size - 1)",
           ("receptive_field",)),
    Mutant("network-in-network", "rf-kernels-added", "receptive_field",
           "span = (kernel_size - 1) *", "span = kernel_size *", ("receptive_field",)),
    Mutant("network-in-network", "stride-left-in-place", "stride_first",
           "    convs[0].stride = stride", "    convs[-1].stride = stride", ("stride_first",)),
    Mutant("network-in-network", "stride-on-both", "stride_first",
           "    for conv in convs:\n        conv.stride = (1, 1)\n", "", ("stride_first",)),
    Mutant("network-in-network", "stride-block-changed", "stride_first",
           "moved = copy.deepcopy(block)", "moved = block", ("stride_first",)),
    Mutant("network-in-network", "stride-padding-dropped", "stride_first",
           "    convs[0].stride = stride", "    convs[0].stride = stride\n    convs[0].padding = (0, 0)",
           ("stride_first",)),

    # --- inception-cost -----------------------------------------------------------------------
    Mutant("inception-cost", "inception-5x5-kept", "Inception",
           "conv(c5_reduce, c5, 3),\n                                     conv(c5, c5, 3))",
           "conv(c5_reduce, c5, 5))", ("Inception",)),
    Mutant("inception-cost", "inception-no-relu-between-3x3", "Inception",
           "conv(c5_reduce, c5, 3),\n", "nn.Conv2d(c5_reduce, c5, 3, padding=1),\n",
           ("Inception",)),
    Mutant("inception-cost", "inception-order-swapped", "Inception",
           "[self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)]",
           "[self.branch1(x), self.branch5(x), self.branch3(x), self.branch_pool(x)]",
           ("Inception",)),
    Mutant("inception-cost", "inception-pool-stride-default", "Inception",
           "nn.MaxPool2d(3, stride=1, padding=1)", "nn.MaxPool2d(3, padding=1)", ("Inception",)),
    Mutant("inception-cost", "inception-3x3-unpadded", "Inception",
           "padding=k // 2", "padding=0", ("Inception",)),
    Mutant("inception-cost", "break-even-rounded-down", "break_even_reduce",
           "return (naive + per_channel - 1) // per_channel", "return naive // per_channel",
           ("break_even_reduce",)),
    Mutant("inception-cost", "break-even-float-ceil", "break_even_reduce",
           "return (naive + per_channel - 1) // per_channel",
           "import math\n    return math.ceil(naive / per_channel)", ("break_even_reduce",)),
    Mutant("inception-cost", "break-even-strictly-more", "break_even_reduce",
           "return (naive + per_channel - 1) // per_channel", "return naive // per_channel + 1",
           ("break_even_reduce",)),
    Mutant("inception-cost", "break-even-kernel-on-input", "break_even_reduce",
           "per_channel = c_in + k * k * c_out", "per_channel = k * k * c_in + c_out",
           ("break_even_reduce",)),
    Mutant("inception-cost", "fuse-pool-included", "fuse_1x1",
           'names = [name for name in branches if name != "branch_pool"]',
           "names = list(branches)", ("fuse_1x1",)),
    Mutant("inception-cost", "fuse-weights-on-the-wrong-axis", "fuse_1x1",
           "weight = np.concatenate([branches[name][0] for name in names])",
           "weight = np.concatenate([branches[name][0] for name in names], axis=1)",
           ("fuse_1x1",)),
    Mutant("inception-cost", "fuse-bias-of-first-only", "fuse_1x1",
           "bias = np.concatenate([branches[name][1] for name in names])",
           "bias = np.concatenate([branches[name][1] for name in names[:1]] + "
           "[0 * branches[name][1] for name in names[1:]])", ("fuse_1x1",)),

    # --- resnet-bottleneck --------------------------------------------------------------------
    Mutant("resnet-bottleneck", "preact-identity-from-pre", "PreActBottleneck",
           "shortcut = x if", "shortcut = pre if", ("PreActBottleneck",)),
    Mutant("resnet-bottleneck", "preact-projection-on-x", "PreActBottleneck",
           "self.projection(pre)", "self.projection(x)", ("PreActBottleneck",)),
    Mutant("resnet-bottleneck", "preact-relu-after-add", "PreActBottleneck",
           "return self.body(pre) + shortcut", "return torch.relu(self.body(pre) + shortcut)",
           ("PreActBottleneck",)),
    Mutant("resnet-bottleneck", "preact-bn-after-last-conv", "PreActBottleneck",
           "nn.Conv2d(mid_channels, out_channels, 1, bias=False),\n",
           "nn.Conv2d(mid_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels),\n",
           ("PreActBottleneck",)),
    Mutant("resnet-bottleneck", "preact-stride-on-first-1x1", "PreActBottleneck",
           "nn.Conv2d(in_channels, mid_channels, 1, bias=False)",
           "nn.Conv2d(in_channels, mid_channels, 1, stride=stride, bias=False)",
           ("PreActBottleneck",),
           more=(("nn.Conv2d(mid_channels, mid_channels, 3, stride=stride, padding=1",
                  "nn.Conv2d(mid_channels, mid_channels, 3, padding=1"),)),
    Mutant("resnet-bottleneck", "stride-cost-even-sizes-only", "stride_cost",
           "half = ((h - 1) // 2 + 1) * ((w - 1) // 2 + 1)", "half = (h // 2) * (w // 2)",
           ("stride_cost",)),
    Mutant("resnet-bottleneck", "stride-cost-shortcut-at-full-size", "stride_cost",
           "shortcut = half * in_channels", "shortcut = full * in_channels", ("stride_cost",)),
    Mutant("resnet-bottleneck", "stride-cost-shortcut-left-out", "stride_cost",
           "shortcut = half * in_channels * out_channels", "shortcut = 0", ("stride_cost",)),
    Mutant("resnet-bottleneck", "stride-cost-3x3-at-full-size-in-v1", "stride_cost",
           "v1 = half * in_channels * mid_channels + half * 9",
           "v1 = half * in_channels * mid_channels + full * 9", ("stride_cost",)),
    Mutant("resnet-bottleneck", "break-even-1x1-counted-as-3x3", "bottleneck_break_even",
           "while 2 * channels * mid + 9 * mid * mid < basic:",
           "while 18 * channels * mid + 9 * mid * mid < basic:", ("bottleneck_break_even",),
           more=(("2 * channels * (mid - 1) + 9", "18 * channels * (mid - 1) + 9"),)),
    Mutant("resnet-bottleneck", "break-even-one-3x3-in-the-basic-block", "bottleneck_break_even",
           "basic = 18 * channels * channels", "basic = 9 * channels * channels",
           ("bottleneck_break_even",)),
    Mutant("resnet-bottleneck", "break-even-float-root", "bottleneck_break_even",
           "    while 2 * channels * mid + 9 * mid * mid < basic:\n        mid += 1\n"
           "    while mid > 1 and 2 * channels * (mid - 1) + 9 * (mid - 1) ** 2 >= basic:\n"
           "        mid -= 1\n",
           "    mid = math.ceil((-2 * channels + math.sqrt(4 * channels**2 + 36 * basic)) / 18)\n",
           ("bottleneck_break_even",)),

    # --- global-average-pooling ---------------------------------------------------------------
    Mutant("global-average-pooling", "fc-not-divided", "gap_as_fc",
           "weight[:, :, None] / (h * w)", "weight[:, :, None]", ("gap_as_fc",)),
    Mutant("global-average-pooling", "fc-position-major", "gap_as_fc",
           "return shared.reshape(k, c * h * w), bias.copy()",
           "return shared.transpose(0, 2, 1).reshape(k, c * h * w), bias.copy()",
           ("gap_as_fc",), more=(("shared = np.broadcast_to(weight[:, :, None] / (h * w), "
                                  "(k, c, h * w))",
                                  "shared = np.broadcast_to(weight[:, :, None] / (h * w), "
                                  "(k, c, h * w)) + np.arange(h * w) * 0"),)),
    Mutant("global-average-pooling", "fc-bias-divided", "gap_as_fc",
           "bias.copy()  #", "bias / (h * w)  #", ("gap_as_fc",)),
    Mutant("global-average-pooling", "fc-only-first-position", "gap_as_fc",
           "shared = np.broadcast_to(weight[:, :, None] / (h * w), (k, c, h * w))",
           "shared = np.zeros((k, c, h * w)); shared[:, :, 0] = weight", ("gap_as_fc",)),
    Mutant("global-average-pooling", "pool-first-weight-shared", "pool_first",
           "linear.weight.copy_(conv.weight[:, :, 0, 0])",
           "linear.weight = nn.Parameter(conv.weight[:, :, 0, 0])", ("pool_first",)),
    Mutant("global-average-pooling", "pool-first-bias-dropped", "pool_first",
           "        linear.bias.copy_(conv.bias)\n", "        linear.bias.zero_()\n",
           ("pool_first",)),
    Mutant("global-average-pooling", "pool-first-weight-transposed", "pool_first",
           "nn.Linear(conv.in_channels, conv.out_channels)",
           "nn.Linear(conv.out_channels, conv.in_channels)", ("pool_first",),
           more=(("conv.weight[:, :, 0, 0])", "conv.weight[:, :, 0, 0].T)"),)),
    Mutant("global-average-pooling", "pool-first-scaled-by-positions", "pool_first",
           "conv.weight[:, :, 0, 0])", "conv.weight[:, :, 0, 0] * 49)", ("pool_first",)),
    Mutant("global-average-pooling", "mean-passes-relu", "earliest_mean",
           'passes = {"conv1x1", "batchnorm", "dropout"}',
           'passes = {"conv1x1", "batchnorm", "dropout", "relu"}', ("earliest_mean",)),
    Mutant("global-average-pooling", "mean-passes-conv3x3", "earliest_mean",
           'passes = {"conv1x1", "batchnorm", "dropout"}',
           'passes = {"conv1x1", "conv3x3", "batchnorm", "dropout"}', ("earliest_mean",)),
    Mutant("global-average-pooling", "mean-stops-at-batchnorm", "earliest_mean",
           'passes = {"conv1x1", "batchnorm", "dropout"}', 'passes = {"conv1x1", "dropout"}',
           ("earliest_mean",)),
    Mutant("global-average-pooling", "mean-passes-maxpool", "earliest_mean",
           'passes = {"conv1x1", "batchnorm", "dropout"}',
           'passes = {"conv1x1", "batchnorm", "dropout", "maxpool3x3"}', ("earliest_mean",)),

    # --- pointwise-today ----------------------------------------------------------------------
    Mutant("pointwise-today", "unit-no-shuffle", "ShuffleUnit",
           "        out = out.view(n, self.groups, c // self.groups, h, w).transpose(1, 2)"
           ".reshape(n, c, h, w)\n", "", ("ShuffleUnit",)),
    Mutant("pointwise-today", "unit-shuffle-the-wrong-way", "ShuffleUnit",
           "out.view(n, self.groups, c // self.groups, h, w)",
           "out.view(n, c // self.groups, self.groups, h, w)", ("ShuffleUnit",)),
    Mutant("pointwise-today", "unit-relu-after-depthwise", "ShuffleUnit",
           "nn.BatchNorm2d(mid_channels))", "nn.BatchNorm2d(mid_channels), nn.ReLU())",
           ("ShuffleUnit",)),
    Mutant("pointwise-today", "unit-no-relu-after-add", "ShuffleUnit",
           "return torch.relu(self.expand(self.depthwise(out)) + x)",
           "return self.expand(self.depthwise(out)) + x", ("ShuffleUnit",)),
    Mutant("pointwise-today", "unit-expand-not-grouped", "ShuffleUnit",
           "nn.Conv2d(mid_channels, channels, 1, groups=groups, bias=False)",
           "nn.Conv2d(mid_channels, channels, 1, bias=False)", ("ShuffleUnit",)),
    Mutant("pointwise-today", "matrix-inverse", "shuffle_matrix",
           "matrix[np.arange(channels), source] = 1.0", "matrix[source, np.arange(channels)] = 1.0",
           ("shuffle_matrix",)),
    Mutant("pointwise-today", "matrix-identity", "shuffle_matrix",
           "source = np.arange(channels).reshape(groups, per_group).T.reshape(-1)",
           "source = np.arange(channels)", ("shuffle_matrix",)),
    Mutant("pointwise-today", "matrix-groups-and-size-swapped", "shuffle_matrix",
           ".reshape(groups, per_group).T", ".reshape(per_group, groups).T", ("shuffle_matrix",)),
    Mutant("pointwise-today", "recovery-no-relu", "relu_recovery_error",
           "lifted = np.maximum(points @ embed.T, 0.0)", "lifted = points @ embed.T",
           ("relu_recovery_error",)),
    Mutant("pointwise-today", "recovery-transpose-not-pinv", "relu_recovery_error",
           "np.linalg.pinv(embed).T", "embed", ("relu_recovery_error",)),
    Mutant("pointwise-today", "recovery-new-generator-per-width", "relu_recovery_error",
           "        embed = rng.normal(size=(n, 2))",
           "        embed = np.random.default_rng(seed).normal(size=(n, 2))",
           ("relu_recovery_error",)),
    Mutant("pointwise-today", "recovery-root-mean-square", "relu_recovery_error",
           "errors.append(np.mean(np.sum((back - points) ** 2, axis=1)))",
           "errors.append(np.sqrt(np.mean(np.sum((back - points) ** 2, axis=1))))",
           ("relu_recovery_error",)),
]
