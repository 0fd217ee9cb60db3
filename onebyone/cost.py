"""What a convolution costs: parameters and multiplications.

Two ways to the same numbers: closed-form formulas (what the notes do by hand) and counts
taken from a real torch model with forward hooks. The tests check that both agree.
"""

import copy
from dataclasses import dataclass

import torch
from torch import nn


def conv_params(c_in, c_out, k, bias=False, groups=1):
    """Learnable numbers in a k×k convolution from c_in to c_out channels."""
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


def conv_mults(h_out, w_out, c_in, c_out, k, groups=1):
    """Multiplications of a k×k convolution: one k·k·c_in dot product per output value."""
    return h_out * w_out * c_out * (c_in // groups) * k * k


def conv_adds(h_out, w_out, c_in, c_out, k, bias=False, groups=1):
    """Additions of a k×k convolution: summing a dot product of n products takes n - 1
    additions, and a bias one more. So a convolution without bias adds one time less per output
    value than it multiplies."""
    per_output = (c_in // groups) * k * k - 1 + (1 if bias else 0)
    return h_out * w_out * c_out * per_output


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

    def record(name, module, inputs, output):
        records.append(_layer_cost(name, module, inputs, output))

    run_with_hooks(model, input_shape, lambda m: isinstance(m, (nn.Conv2d, nn.Linear)), record)
    return records


def _weightless_cpu_twin(model):
    """A copy of a "meta" model on the CPU, its weights allocated but never written: enough to
    run an empty batch through it. (On "meta" itself, torch computes batch norm's and ReLU's
    output shapes in Python, and imports sympy and its compiler stack the first time: over a
    second per page, where an empty batch through the CPU twin of ResNet-152 takes a fifth.)"""
    return copy.deepcopy(model).to_empty(device="cpu")


def count_copy_bytes(model):
    """Bytes a count allocates for a "meta" model: its CPU twin holds every parameter and buffer
    (batch norm's running statistics), allocated but never written. Counting parameters alone
    allocates nothing."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def run_with_hooks(model, input_shape, select, record):
    """Run `model` once, in eval mode and without gradients, on zeros of `input_shape` (C, H, W),
    calling `record(name, module, inputs, output)` after each selected module of `model` runs.

    A model built on PyTorch's "meta" device (layers and shapes, no weight values) runs as a
    weightless CPU twin on an empty batch: every input and output then has batch size 0 and the
    shapes torch gives it, which is all a count needs. Otherwise the batch holds one image.
    """
    on_meta = next(model.parameters(), torch.zeros(0)).is_meta
    runner = _weightless_cpu_twin(model) if on_meta else model
    originals = dict(model.named_modules())   # the twin's modules have the same names
    handles = [module.register_forward_hook(
                   lambda m, i, o, name=name: record(name, originals[name], i, o))
               for name, module in runner.named_modules() if select(originals[name])]
    was_training = model.training
    device = next(runner.parameters(), torch.zeros(0)).device
    try:
        runner.eval()
        with torch.no_grad():
            runner(torch.zeros((0 if on_meta else 1, *input_shape), device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()


def total_params(model):
    """All learnable numbers in a torch model."""
    return sum(p.numel() for p in model.parameters())


def total_mults(model, input_shape):
    """All multiplications of the model's Conv2d and Linear layers on one input."""
    return sum(layer.mults for layer in count_model(model, input_shape))


# --- Whole-model tables ----------------------------------------------------------------------

_SKIPPED = (nn.ReLU, nn.Dropout)  # no parameters, no change of shape: left out of layer tables


@dataclass(frozen=True)
class LayerRow:
    """One leaf layer of a model, as run on one input: its output shape and learnable numbers."""

    name: str
    kind: str
    out_shape: tuple
    params: int


def layer_rows(model, input_shape):
    """Every leaf layer of `model` (except activations and dropout) in the order it ran on zeros of
    `input_shape` (C, H, W), with its output shape and parameter count (weights + biases +
    batch-norm scales and shifts). Summing `params` gives total_params(model)."""
    rows = []

    def record(name, module, inputs, output):
        params = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append(LayerRow(name, type(module).__name__, tuple(output.shape[1:]), params))

    def is_leaf(module):
        return next(module.children(), None) is None and not isinstance(module, _SKIPPED)

    run_with_hooks(model, input_shape, is_leaf, record)
    return rows


def format_rows(rows):
    """A fixed-width text table of LayerRow records, with a total line."""
    lines = [f"{'layer':<14}{'kind':<20}{'output (C, H, W)':>20}{'parameters':>14}"]
    for row in rows:
        shape = " × ".join(str(d) for d in row.out_shape)
        lines.append(f"{row.name:<14}{row.kind:<20}{shape:>20}{row.params:>14,}")
    lines.append(f"{'total':<54}{sum(r.params for r in rows):>14,}")
    return "\n".join(lines)


def weight_depth(module):
    """Layers with weights on the longest path through `module`: how papers count depth
    ("22 layers", "ResNet-50"). Parallel branches (an Inception module's, a residual block's body
    and shortcut) count as their deepest branch; anything else as the sum of its parts."""
    from onebyone import models  # cost formulas do not need models; only this function does

    if isinstance(module, (nn.Conv2d, nn.Linear)):
        return 1
    children = [weight_depth(child) for child in module.children()]
    if isinstance(module, (models.Inception, models.BasicBlock, models.Bottleneck)):
        return max(children, default=0)
    return sum(children)


def float32_megabytes(n_params):
    """Size of `n_params` float32 numbers, as (MB = 10**6 bytes, MiB = 2**20 bytes)."""
    n_bytes = 4 * n_params
    return n_bytes / 10**6, n_bytes / 2**20


# --- Closed forms for the blocks the chapters count --------------------------------------------

def batch_norm_params(channels):
    """A batch norm layer learns a scale and a shift per channel (its running statistics are not
    learned)."""
    return 2 * channels


def inception_params(c_in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, bias=True):
    """Learnable numbers in an Inception module (see models.Inception); a reduce or projection
    given as None is absent, as in the naive module."""
    def branch(reduce, out, k):
        if reduce is None:
            return conv_params(c_in, out, k, bias)
        return conv_params(c_in, reduce, 1, bias) + conv_params(reduce, out, k, bias)

    pool = 0 if pool_proj is None else conv_params(c_in, pool_proj, 1, bias)
    return conv_params(c_in, c1, 1, bias) + branch(c3_reduce, c3, 3) + branch(c5_reduce, c5, 5) \
        + pool


def inception_mults(h, w, c_in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
    """Multiplications of an Inception module on an h×w input (every branch keeps h×w)."""
    def branch(reduce, out, k):
        if reduce is None:
            return conv_mults(h, w, c_in, out, k)
        return conv_mults(h, w, c_in, reduce, 1) + conv_mults(h, w, reduce, out, k)

    pool = 0 if pool_proj is None else conv_mults(h, w, c_in, pool_proj, 1)
    return conv_mults(h, w, c_in, c1, 1) + branch(c3_reduce, c3, 3) + branch(c5_reduce, c5, 5) \
        + pool


def googlenet_module_weights():
    """Each of GoogLeNet's nine Inception modules against its naive counterpart on the same
    input (the channels it really receives): {name: (naive weights, weights)}, biases left out
    as the notes leave them out."""
    from onebyone import models  # the widths live with the model; the formulas do not need it

    inputs = models.googlenet_module_inputs()
    table = {}
    for name, c1, c3_reduce, c3, c5_reduce, c5, pool_proj in models.GOOGLENET_INCEPTIONS:
        c_in = inputs[name]
        naive = inception_params(c_in, c1, None, c3, None, c5, None, bias=False)
        real = inception_params(c_in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, bias=False)
        table[name] = (naive, real)
    return table


def _shortcut_params(c_in, c_out, stride):
    """A residual block's shortcut: nothing for the identity, else 1×1 convolution + batch norm."""
    if stride == 1 and c_in == c_out:
        return 0
    return conv_params(c_in, c_out, 1) + batch_norm_params(c_out)


def basic_block_params(c_in, c_out, stride=1):
    """Learnable numbers in ResNet's basic block (models.BasicBlock): two 3×3 convolutions
    without bias, each with batch norm, and the shortcut."""
    return (conv_params(c_in, c_out, 3) + conv_params(c_out, c_out, 3)
            + 2 * batch_norm_params(c_out) + _shortcut_params(c_in, c_out, stride))


def bottleneck_params(c_in, mid, c_out, stride=1):
    """Learnable numbers in ResNet's bottleneck block (models.Bottleneck): 1×1, 3×3, 1×1
    convolutions without bias, each with batch norm, and the shortcut."""
    return (conv_params(c_in, mid, 1) + conv_params(mid, mid, 3) + conv_params(mid, c_out, 1)
            + 2 * batch_norm_params(mid) + batch_norm_params(c_out)
            + _shortcut_params(c_in, c_out, stride))


def block_rows(model, input_shape):
    """Like layer_rows, but one row per top-level part of `model` (an Inception module, a
    residual block, a pooling layer), with all the parameters inside it."""
    rows = []
    children = set(model.children())

    def record(name, module, inputs, output):
        rows.append(LayerRow(name, type(module).__name__, tuple(output.shape[1:]),
                             sum(p.numel() for p in module.parameters())))

    def is_block(module):
        return module in children and not isinstance(module, _SKIPPED)

    run_with_hooks(model, input_shape, is_block, record)
    return rows


def params_by_kind(model):
    """The model's parameters split by the kind of layer that holds them: 1×1 convolutions,
    larger convolutions, fully connected layers, batch norm. Kinds with none are left out."""
    kinds = {}
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            kind = "1×1 convolutions" if module.kernel_size == (1, 1) else "larger convolutions"
        elif isinstance(module, nn.Linear):
            kind = "fully connected"
        elif isinstance(module, nn.BatchNorm2d):
            kind = "batch norm"
        else:
            continue
        kinds[kind] = kinds.get(kind, 0) + sum(p.numel() for p in module.parameters(recurse=False))
    return kinds


# --- Depthwise-separable and grouped convolutions ----------------------------------------------

def separable_params(c_in, c_out, k):
    """Weights of a depthwise-separable convolution: k×k per input channel, then a 1×1 from
    c_in to c_out (no biases)."""
    return conv_params(c_in, c_in, k, groups=c_in) + conv_params(c_in, c_out, 1)


def separable_mults(h_out, w_out, c_in, c_out, k):
    """Multiplications of a depthwise-separable convolution: the depthwise half does k·k per
    output value of each channel, the pointwise half c_in per output value."""
    return (conv_mults(h_out, w_out, c_in, c_in, k, groups=c_in)
            + conv_mults(h_out, w_out, c_in, c_out, 1))


def separable_ratio(c_out, k):
    """Separable over standard multiplications (or weights): (k² c_in + c_in c_out) /
    (k² c_in c_out) = 1/c_out + 1/k². It does not depend on c_in, h or w."""
    return 1 / c_out + 1 / k**2


def inverted_residual_params(c_in, c_out, expansion):
    """Learnable numbers in MobileNetV2's block (models.InvertedResidual): 1×1 expand (absent
    for expansion 1), 3×3 depthwise, 1×1 project, each without bias and with batch norm."""
    hidden = c_in * expansion
    expand = 0 if expansion == 1 else conv_params(c_in, hidden, 1) + batch_norm_params(hidden)
    return (expand + conv_params(hidden, hidden, 3, groups=hidden) + batch_norm_params(hidden)
            + conv_params(hidden, c_out, 1) + batch_norm_params(c_out))


def inverted_residual_mults(h, w, c_in, c_out, expansion, stride=1):
    """Multiplications of MobileNetV2's block on an h×w input (odd sizes round up, as "same"
    padding does)."""
    hidden = c_in * expansion
    h_out, w_out = -(-h // stride), -(-w // stride)
    expand = 0 if expansion == 1 else conv_mults(h, w, c_in, hidden, 1)
    return (expand + conv_mults(h_out, w_out, hidden, hidden, 3, groups=hidden)
            + conv_mults(h_out, w_out, hidden, c_out, 1))


def conv_kind(module):
    """What a Conv2d or Linear layer is: "1×1 (pointwise)", "depthwise", "grouped",
    "k×k (standard)" or "fully connected"."""
    if isinstance(module, nn.Linear):
        return "fully connected"
    if module.groups > 1 and module.groups == module.in_channels == module.out_channels:
        return "depthwise"
    if module.kernel_size == (1, 1):
        return "1×1 (pointwise)"
    return "grouped" if module.groups > 1 else "k×k (standard)"


def cost_by_kind(model, input_shape):
    """{kind: (parameters, multiplications)} of the model's Conv2d and Linear layers, run once on
    zeros of `input_shape` (C, H, W); kinds as conv_kind. Batch norm is left out."""
    split = {}

    def record(name, module, inputs, output):
        layer = _layer_cost(name, module, inputs, output)
        params, mults = split.get(conv_kind(module), (0, 0))
        split[conv_kind(module)] = (params + layer.params, mults + layer.mults)

    run_with_hooks(model, input_shape, lambda m: isinstance(m, (nn.Conv2d, nn.Linear)), record)
    return split
