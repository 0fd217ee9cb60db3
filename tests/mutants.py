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
    Mutant("network-in-network", "mlpconv-last-relu-missing", "mlpconv",
           "nn.Conv2d(out_channels, out_channels, kernel_size=1),\n        nn.ReLU(),\n    )",
           "nn.Conv2d(out_channels, out_channels, kernel_size=1),\n    )",
           ("mlpconv", "nin")),
    # (The stride moved onto a 1×1 layer is no mutant: subsampling commutes with 1×1
    # convolutions and ReLU, so the output is the same, only dearer.)
    Mutant("network-in-network", "mlpconv-1x1-without-bias", "mlpconv",
           "kernel_size=1),\n        nn.ReLU(),\n        nn.Conv2d(out_channels, out_channels, "
           "kernel_size=1),",
           "kernel_size=1, bias=False),\n        nn.ReLU(),\n        nn.Conv2d(out_channels, "
           "out_channels, kernel_size=1, bias=False),",
           ("mlpconv", "nin", "nin_vs_fc")),
    Mutant("network-in-network", "mlpconv-padding-ignored", "mlpconv",
           "stride=stride, padding=padding)", "stride=stride)", ("mlpconv", "nin", "nin_vs_fc")),
    Mutant("network-in-network", "mlpconv-1x1-layers-kxk", "mlpconv",
           "nn.ReLU(),\n        nn.Conv2d(out_channels, out_channels, kernel_size=1),\n"
           "        nn.ReLU(),\n        nn.Conv2d",
           "nn.ReLU(),\n        nn.Conv2d(out_channels, out_channels, kernel_size, "
           "padding=padding),\n        nn.ReLU(),\n        nn.Conv2d",
           ("mlpconv", "nin", "nin_vs_fc")),
    Mutant("network-in-network", "nin-max-pool-head", "nin",
           "nn.AdaptiveAvgPool2d(1)", "nn.AdaptiveMaxPool2d(1)", ("nin",)),
    Mutant("network-in-network", "nin-5x5-unpadded", "nin",
           "mlpconv(96, 256, kernel_size=5, padding=2)", "mlpconv(96, 256, kernel_size=5)",
           ("nin", "nin_vs_fc")),
    Mutant("network-in-network", "nin-last-block-384", "nin",
           "mlpconv(384, num_classes, kernel_size=3, padding=1),",
           "mlpconv(384, 384, kernel_size=3, padding=1), nn.Conv2d(384, num_classes, 1),",
           ("nin", "nin_vs_fc")),
    Mutant("network-in-network", "fc-head-without-biases", "nin_vs_fc",
           "n_in * n_out + n_out", "n_in * n_out", ("nin_vs_fc",)),
    Mutant("network-in-network", "fc-head-keeps-last-block", "nin_vs_fc",
           "nin_params - last_block + head", "nin_params + head", ("nin_vs_fc",)),
    Mutant("network-in-network", "rf-strides-ignored", "receptive_field",
           "        step *= stride\n", "", ("receptive_field",)),
    Mutant("network-in-network", "rf-stride-applied-to-its-own-kernel", "receptive_field",
           "        size += (kernel_size - 1) * step  # k - 1 more positions of the layer below, "
           "step apart\n        step *= stride",
           "        step *= stride\n        size += (kernel_size - 1) * step",
           ("receptive_field",)),
    Mutant("network-in-network", "rf-kernels-added", "receptive_field",
           "size += (kernel_size - 1) * step", "size += kernel_size * step",
           ("receptive_field",)),

    # --- inception-cost -----------------------------------------------------------------------
    Mutant("inception-cost", "params-bias-counted-twice", "conv_params",
           "(c_out if bias else 0)", "(2 * c_out if bias else 0)", ("conv_params",)),
    Mutant("inception-cost", "params-kernel-not-squared", "conv_params",
           "c_out * c_in * k * k", "c_out * c_in * k", ("conv_params", "branch5_cost")),
    Mutant("inception-cost", "mults-one-position", "conv_mults",
           "return h_out * w_out * c_out * per_output", "return c_out * per_output",
           ("conv_mults", "branch5_cost")),
    Mutant("inception-cost", "mults-input-size-off-by-one", "conv_mults",
           "return h_out * w_out * c_out * per_output",
           "return (h_out - k + 1) * (w_out - k + 1) * c_out * per_output",
           ("conv_mults", "branch5_cost")),
    Mutant("inception-cost", "branch-reduction-as-5x5", "branch5_cost",
           "conv_mults(h, w, c_in, c_reduce, 1)", "conv_mults(h, w, c_in, c_reduce, 5)",
           ("branch5_cost",)),
    Mutant("inception-cost", "branch-5x5-on-all-channels", "branch5_cost",
           "conv_params(c_reduce, c_out, 5)", "conv_params(c_in, c_out, 5)",
           ("branch5_cost",)),
    Mutant("inception-cost", "inception-pool-stride-3", "Inception",
           "nn.MaxPool2d(3, stride=1, padding=1)", "nn.MaxPool2d(3, padding=1)", ("Inception",)),
    Mutant("inception-cost", "inception-padding-1", "Inception",
           "padding=k // 2", "padding=1", ("Inception",)),
    Mutant("inception-cost", "inception-pool-branch-first", "Inception",
           "[self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)]",
           "[self.branch_pool(x), self.branch1(x), self.branch3(x), self.branch5(x)]",
           ("Inception",)),
    Mutant("inception-cost", "inception-no-relu", "Inception",
           "nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU())",
           "nn.Conv2d(c_in, c_out, k, padding=k // 2))", ("Inception",)),
    Mutant("inception-cost", "break-even-widest-saving", "break_even_reduce",
           "return (naive + per_channel - 1) // per_channel", "return naive // per_channel",
           ("break_even_reduce",)),
    Mutant("inception-cost", "break-even-1x1-free", "break_even_reduce",
           "per_channel = c_in + k * k * c_out", "per_channel = k * k * c_out",
           ("break_even_reduce",)),
    Mutant("inception-cost", "break-even-float-ceil", "break_even_reduce",
           "return (naive + per_channel - 1) // per_channel",
           "return int(naive / per_channel) + 1", ("break_even_reduce",)),

    # --- resnet-bottleneck --------------------------------------------------------------------
    Mutant("resnet-bottleneck", "relu-before-addition", "Bottleneck",
           "torch.relu(self.body(x) + self.shortcut(x))",
           "torch.relu(self.body(x)) + self.shortcut(x)", ("Bottleneck",)),
    Mutant("resnet-bottleneck", "no-relu-after-addition", "Bottleneck",
           "torch.relu(self.body(x) + self.shortcut(x))", "self.body(x) + self.shortcut(x)",
           ("Bottleneck",)),
    Mutant("resnet-bottleneck", "projection-only-for-channels", "Bottleneck",
           "if stride != 1 or in_channels != out_channels:", "if in_channels != out_channels:",
           ("Bottleneck",)),
    Mutant("resnet-bottleneck", "stride-on-reduce", "Bottleneck",
           "nn.Conv2d(in_channels, mid_channels, kernel_size=1, bias=False),",
           "nn.Conv2d(in_channels, mid_channels, kernel_size=1, stride=stride, bias=False),",
           ("Bottleneck",)),
    Mutant("resnet-bottleneck", "missing-batch-norm-after-3x3", "Bottleneck",
           "bias=False),\n            nn.BatchNorm2d(mid_channels),\n            nn.ReLU(),\n"
           "            nn.Conv2d(mid_channels, out_channels",
           "bias=False),\n            nn.ReLU(),\n            nn.Conv2d(mid_channels, out_channels",
           ("Bottleneck",)),
    Mutant("resnet-bottleneck", "projection-without-batch-norm", "Bottleneck",
           "stride=stride, bias=False),\n                nn.BatchNorm2d(out_channels),",
           "stride=stride, bias=False),", ("Bottleneck",)),
    Mutant("resnet-bottleneck", "3x3-unpadded", "Bottleneck",
           "stride=stride, padding=1,", "stride=stride,", ("Bottleneck",)),
    Mutant("resnet-bottleneck", "relu-missing-after-reduce", "Bottleneck",
           "nn.BatchNorm2d(mid_channels),\n            nn.ReLU(),\n"
           "            nn.Conv2d(mid_channels, mid_channels",
           "nn.BatchNorm2d(mid_channels),\n            nn.Conv2d(mid_channels, mid_channels",
           ("Bottleneck",)),
    Mutant("resnet-bottleneck", "basic-block-one-3x3", "block_mults",
           "basic = 2 * mults(channels, channels, 3)", "basic = mults(channels, channels, 3)",
           ("block_mults",)),
    Mutant("resnet-bottleneck", "bottleneck-3x3-on-all-channels", "block_mults",
           "mults(mid_channels, mid_channels, 3)", "mults(channels, channels, 3)",
           ("block_mults",)),
    Mutant("resnet-bottleneck", "break-even-widest-saving", "bottleneck_break_even",
           "    return mid", "    return mid - 1", ("bottleneck_break_even",)),
    Mutant("resnet-bottleneck", "break-even-one-3x3-in-basic", "bottleneck_break_even",
           "basic = 18 * channels * channels", "basic = 9 * channels * channels",
           ("bottleneck_break_even",)),
    Mutant("resnet-bottleneck", "break-even-1x1-free", "bottleneck_break_even",
           "while 2 * channels * mid + 9 * mid * mid < basic:", "while 9 * mid * mid < basic:",
           ("bottleneck_break_even",)),

    # --- global-average-pooling ---------------------------------------------------------------
    Mutant("global-average-pooling", "gap-over-channels", "global_avg_pool",
           "x.mean(axis=(2, 3))", "x.mean(axis=1)", ("global_avg_pool",)),
    Mutant("global-average-pooling", "gap-sum", "global_avg_pool",
           "x.mean(axis=(2, 3))", "x.sum(axis=(2, 3))", ("global_avg_pool",)),
    Mutant("global-average-pooling", "gap-keepdims", "global_avg_pool",
           "x.mean(axis=(2, 3))", "x.mean(axis=(2, 3), keepdims=True)", ("global_avg_pool",)),
    Mutant("global-average-pooling", "gap-first-row", "global_avg_pool",
           "x.mean(axis=(2, 3))", "x[:, :, 0, :].mean(axis=2)",
           ("global_avg_pool",)),
    Mutant("global-average-pooling", "gap-with-torch", "global_avg_pool",
           "return x.mean(axis=(2, 3))",
           "return torch.from_numpy(x).mean(dim=(2, 3)).numpy()",
           ("global_avg_pool",)),
    Mutant("global-average-pooling", "head-max-pool", "GAPHead",
           "maps.mean(dim=(2, 3))", "maps.amax(dim=(2, 3))", ("GAPHead",)),
    Mutant("global-average-pooling", "head-relu", "GAPHead",
           "maps = self.classify(x)", "maps = torch.relu(self.classify(x))", ("GAPHead",)),
    Mutant("global-average-pooling", "head-linear-after-pooling", "GAPHead",
           "self.classify = nn.Conv2d(in_channels, num_classes, kernel_size=1)",
           "self.classify = nn.Linear(in_channels, num_classes)",
           ("GAPHead",),
           more=(("maps = self.classify(x)",
                  "maps = self.classify(x.mean(dim=(2, 3)))[:, :, None, None]"),)),
    Mutant("global-average-pooling", "head-calls-reference", "GAPHead",
           "self.classify = nn.Conv2d(in_channels, num_classes, kernel_size=1)",
           "from onebyone import models\n"
           "        self.classify = models.GAPHead(in_channels, num_classes).classify",
           ("GAPHead",)),
    Mutant("global-average-pooling", "permute-inverse", "permute_positions",
           "flat[:, :, perm]", "flat[:, :, np.argsort(perm)]", ("permute_positions",)),
    Mutant("global-average-pooling", "permute-per-channel", "permute_positions",
           "return flat[:, :, perm].reshape(n, c, h, w)",
           "rng = np.random.default_rng(seed)\n"
           "    return np.stack([flat[:, i, rng.permutation(h * w)] for i in range(c)], axis=1)"
           ".reshape(n, c, h, w)",
           ("permute_positions",)),
    Mutant("global-average-pooling", "gap-fc-not-divided", "gap_as_fc",
           "weight[:, :, None] / (h * w)", "weight[:, :, None]", ("gap_as_fc",)),
    Mutant("global-average-pooling", "gap-fc-bias-divided", "gap_as_fc",
           "bias.copy()", "bias / (h * w)", ("gap_as_fc",)),
    Mutant("global-average-pooling", "gap-fc-positions-first", "gap_as_fc",
           "return shared.reshape(k, c * h * w), bias.copy()",
           "return np.tile(weight / (h * w), (1, h * w)), bias.copy()", ("gap_as_fc",)),

    # --- pointwise-today ----------------------------------------------------------------------
    Mutant("pointwise-today", "depthwise-groups-1", "DepthwiseSeparable",
           "padding=kernel_size // 2, groups=in_channels, bias=False)",
           "padding=kernel_size // 2, bias=False)", ("DepthwiseSeparable",)),
    Mutant("pointwise-today", "stride-on-pointwise", "DepthwiseSeparable",
           "nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride,",
           "nn.Conv2d(in_channels, in_channels, kernel_size, stride=1,",
           ("DepthwiseSeparable",),
           more=(("nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)",
                  "nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, "
                  "bias=False)"),)),
    Mutant("pointwise-today", "pointwise-relu-missing", "DepthwiseSeparable",
           "nn.BatchNorm2d(out_channels),\n            nn.ReLU(),",
           "nn.BatchNorm2d(out_channels),", ("DepthwiseSeparable",)),
    Mutant("pointwise-today", "depthwise-unpadded", "DepthwiseSeparable",
           "padding=kernel_size // 2, groups", "padding=0, groups", ("DepthwiseSeparable",)),
    Mutant("pointwise-today", "costs-pointwise-kxk", "conv_costs",
           "pointwise = h * w * c_out * c_in", "pointwise = h * w * c_out * c_in * k * k",
           ("conv_costs",)),
    Mutant("pointwise-today", "costs-depthwise-mixes", "conv_costs",
           "depthwise = h * w * c_in * k * k", "depthwise = h * w * c_in * c_in * k * k",
           ("conv_costs",)),
    Mutant("pointwise-today", "break-even-cheaper-pairs", "break_even",
           "if k * k + c_out > c_out * k * k:", "if k * k + c_out < c_out * k * k:",
           ("break_even",)),
    Mutant("pointwise-today", "break-even-skips-k1", "break_even",
           "for k in range(1, max_k + 1):", "for k in range(2, max_k + 1):", ("break_even",)),
    Mutant("pointwise-today", "relu6-after-projection", "InvertedResidual",
           "nn.BatchNorm2d(out_channels)]", "nn.BatchNorm2d(out_channels), nn.ReLU6()]",
           ("InvertedResidual",)),
    Mutant("pointwise-today", "residual-ignores-stride", "InvertedResidual",
           "self.add_input = stride == 1 and in_channels == out_channels",
           "self.add_input = in_channels == out_channels", ("InvertedResidual",)),
    Mutant("pointwise-today", "expansion-of-output", "InvertedResidual",
           "hidden = in_channels * expansion", "hidden = out_channels * expansion",
           ("InvertedResidual",)),
    Mutant("pointwise-today", "always-expand", "InvertedResidual",
           "if expansion != 1:", "if True:", ("InvertedResidual",)),
    Mutant("pointwise-today", "stride-on-expansion", "InvertedResidual",
           "nn.Conv2d(in_channels, hidden, kernel_size=1, bias=False)",
           "nn.Conv2d(in_channels, hidden, kernel_size=1, stride=stride, bias=False)",
           ("InvertedResidual",),
           more=(("kernel_size=3, stride=stride, padding=1", "kernel_size=3, padding=1"),)),
    Mutant("pointwise-today", "shuffle-inverse", "channel_shuffle",
           "x.reshape(n, groups, c // groups, h, w)", "x.reshape(n, c // groups, groups, h, w)",
           ("channel_shuffle",)),
    Mutant("pointwise-today", "shuffle-with-torch", "channel_shuffle",
           "return x.reshape(n, groups, c // groups, h, w).swapaxes(1, 2).reshape(n, c, h, w)",
           "t = torch.from_numpy(x).reshape(n, groups, c // groups, h, w)\n"
           "    return t.transpose(1, 2).reshape(n, c, h, w).numpy()", ("channel_shuffle",)),
]
