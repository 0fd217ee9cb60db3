"""Block diagrams drawn from the torch modules themselves.

Every box is a layer found by running the module once (forward hooks, as in `cost`): its kind,
its channels or shape as torch computed them, and its cost by `cost`'s formulas. Change a model
and its diagram changes with it. Each diagram also returns its alt text, written from the same
data. Figures are made with `matplotlib.figure.Figure`, not pyplot, so a page shows them only
where it chooses to.
"""

import io
import math
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from torch import nn

from onebyone import cost, models
from onebyone.plots import OKABE_ITO

# Pale fills (dark text stays readable on all of them), one per kind of layer; the kind is also
# written in the box, so colour is never the only cue.
FILLS = {"conv": "#BBD7EE", "conv1x1": "#F5D9A8", "pool": "#C8E6D8", "linear": "#E8C8DC",
         "other": "#E6E6E6"}
# Written into the box of the layer before, by these names.
_FOLDED = {nn.ReLU: "ReLU", nn.ReLU6: "ReLU6", nn.BatchNorm2d: "BN", nn.Dropout: "dropout"}


@dataclass
class Layer:
    """One box: a layer as it ran, with what it adds after it (batch norm, ReLU)."""

    title: str
    kind: str
    in_shape: tuple
    out_shape: tuple
    params: int
    mults: int | None  # multiplications per output position (per sample for a linear layer)
    extras: tuple = ()

    @property
    def label(self):
        """The layer's name with what follows it: "3×3 conv + BN + ReLU"."""
        return " + ".join((self.title, *self.extras))


@dataclass(frozen=True)
class Diagram:
    """A drawn figure and its alt text, made from the same numbers."""

    figure: Figure
    alt: str

    def png(self, dpi=100):
        """The figure as PNG bytes (what a page shows)."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight",
                            facecolor="white")
        return buffer.getvalue()


def _title(module):
    """A short name for a layer, read from its settings."""
    if isinstance(module, nn.Conv2d):
        k = "×".join(str(s) for s in module.kernel_size)
        groups, stride = module.groups, module.stride[0]
        name = f"{k} conv"
        if groups > 1 and groups == module.in_channels == module.out_channels:
            name = f"{k} depthwise conv"  # one filter per channel: no channel mixing
        elif groups > 1:
            name += f", {groups} groups"
        return name + (f", stride {stride}" if stride > 1 else "")
    if isinstance(module, nn.MaxPool2d):
        stride = module.stride if isinstance(module.stride, int) else module.stride[0]
        return f"{module.kernel_size}×{module.kernel_size} max-pool, stride {stride}"
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return "global average pool"
    if isinstance(module, nn.Linear):
        return "fully connected"
    if isinstance(module, nn.Flatten):
        return "flatten"
    if isinstance(module, nn.Identity):
        return "identity"
    return type(module).__name__


def _kind(module):
    if isinstance(module, nn.Conv2d):
        return "conv1x1" if module.kernel_size == (1, 1) else "conv"
    if isinstance(module, (nn.MaxPool2d, nn.AdaptiveAvgPool2d)):
        return "pool"
    if isinstance(module, nn.Linear):
        return "linear"
    return "other"


def _mults_per_position(module, out_shape):
    """Multiplications per output position (cost.conv_mults on a 1×1 output), or per sample."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        if kh != kw:
            raise ValueError("diagrams draw square kernels only")
        return cost.conv_mults(1, 1, module.in_channels, module.out_channels, kh,
                               groups=module.groups)
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    return None


def layers_of(module, input_shape):
    """The layers of `module` in the order they run on zeros of `input_shape` (C, H, W).

    Batch norm, ReLU, ReLU6 and dropout become extras of the layer before them (a lone one becomes a
    box of its own); every other leaf is a Layer with the shapes torch gave it.
    """
    ran = []

    def record(name, leaf, inputs, output):
        ran.append((leaf, tuple(inputs[0].shape[1:]), tuple(output.shape[1:])))

    def is_leaf(m):
        return next(m.children(), None) is None

    cost.run_with_hooks(module, input_shape, is_leaf, record)
    if isinstance(module, models.GAPHead):  # its mean over (H, W) is not a layer: add the step
        maps = ran[-1][2]
        ran.append((nn.AdaptiveAvgPool2d(1), maps, maps[:1]))
    layers = []
    for leaf, in_shape, out_shape in ran:
        if type(leaf) in _FOLDED and layers:
            layers[-1].extras += (_FOLDED[type(leaf)],)
            continue
        params = sum(p.numel() for p in leaf.parameters(recurse=False))
        layers.append(Layer(_title(leaf), _kind(leaf), in_shape, out_shape, params,
                            _mults_per_position(leaf, out_shape)))
    return layers


# --- Drawing -------------------------------------------------------------------------------------

BOX_W, BOX_H, GAP = 2.6, 0.62, 0.34  # in data units; one unit is about one inch


def _shape_text(shape):
    return " × ".join(str(d) for d in shape)


def _lines(layer, show):
    """The text of a box: the layer, then channels or shapes, then a cost."""
    lines = [layer.label]
    if show == "shapes":
        lines.append(f"{_shape_text(layer.in_shape)} → {_shape_text(layer.out_shape)}")
    else:
        lines.append(f"{layer.in_shape[0]} → {layer.out_shape[0]} channels")
    if show == "shapes":
        lines.append(f"{layer.params:,} parameters")
    elif layer.mults is not None:
        lines.append(f"{layer.mults:,} mult. per position")
    return lines


def _box(ax, x, y, lines, fill, width=BOX_W, height=BOX_H):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.03", facecolor=fill, edgecolor="black",
                                linewidth=0.8))
    ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=7.5, linespacing=1.25)


def _arrow(ax, start, end, label=None):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, linewidth=0.9,
                                 color="black", shrinkA=0, shrinkB=0))
    if label:
        ax.text((start[0] + end[0]) / 2 + 0.06, (start[1] + end[1]) / 2, label, ha="left",
                va="center", fontsize=7, color="0.15")


def _column(ax, x, top, layers, show, width=BOX_W):
    """Draw `layers` downwards from y=`top`, joined by arrows; return the bottom edge."""
    y = top
    for i, layer in enumerate(layers):
        centre = y - BOX_H / 2
        _box(ax, x, centre, _lines(layer, show), FILLS[layer.kind], width=width)
        y = centre - BOX_H / 2
        if i < len(layers) - 1:
            _arrow(ax, (x, y), (x, y - GAP))
            y -= GAP
    return y


def _canvas(width, height, columns=1):
    """A figure with `columns` blank axes whose data units match inches."""
    fig = Figure(figsize=(width * columns, height), layout="constrained")
    axes = fig.subplots(1, columns, squeeze=False)[0]
    for ax in axes:
        ax.set_xlim(0, width)
        ax.set_ylim(0, height)
        ax.axis("off")
    return fig, axes


def _column_height(n):
    return n * BOX_H + (n - 1) * GAP


def _plus(ax, x, y, radius=0.18):
    """A circled "+" centred on (x, y): where a shortcut is added."""
    ax.add_patch(FancyBboxPatch((x - radius, y - radius), 2 * radius, 2 * radius,
                                boxstyle="circle,pad=0", facecolor="white", edgecolor="black",
                                linewidth=0.8))
    ax.text(x, y, "+", ha="center", va="center", fontsize=11)


def adds_its_input(module):
    """Whether `module` adds its input to its output (a block with `residual` set, as
    models.InvertedResidual when it keeps the shape)."""
    return bool(getattr(module, "residual", False))


# --- The course's diagrams -----------------------------------------------------------------------

def stacks_diagram(modules, input_shape, show="channels"):
    """Modules side by side, each as a column of its layers: {title: module}, one input shape.

    show="channels" writes channels and multiplications per output position, "shapes" writes
    shapes and parameters.
    A module that adds its input to its output (`adds_its_input`) gets a "+ input" step under
    its column, and says so in its title and alt text.
    """
    columns = {title: layers_of(m, input_shape) for title, m in modules.items()}
    residual = {title: adds_its_input(m) for title, m in modules.items()}
    extra = GAP + 0.45 if any(residual.values()) else 0  # room for the addition
    height = _column_height(max(len(v) for v in columns.values())) + 0.9 + extra
    width = BOX_W + 0.5
    fig, axes = _canvas(width, height, len(columns))
    for ax, (title, layers) in zip(axes, columns.items()):
        x = width / 2
        ax.set_title(title + ("\n(input added to the output)" if residual[title] else ""),
                     fontsize=9)
        bottom = _column(ax, x, height - 0.45, layers, show)
        if residual[title]:
            _arrow(ax, (x, bottom), (x, bottom - GAP))
            _plus(ax, x, bottom - GAP - 0.18)
            ax.text(x + 0.26, bottom - GAP - 0.18, "input", ha="left", va="center",
                    fontsize=7.5)
    parts = []
    for title, layers in columns.items():
        inner = "; ".join(", ".join(_lines(layer, show)) for layer in layers)
        added = "; then the input is added to the output" if residual[title] else ""
        parts.append(f"{title}, from top to bottom: {inner}{added}.")
    alt = f"Block diagram in {len(columns)} columns. " + " ".join(parts)
    return Diagram(fig, alt)


def _block_summary(module, input_shape):
    """One line of text per top-level part of a network: what is inside and what comes out."""
    layers = layers_of(module, input_shape)
    if isinstance(module, nn.Sequential) and len(layers) > 1:
        head = "mlpconv: " + ", ".join(f"{layer.title} {layer.in_shape[0]}→{layer.out_shape[0]}"
                                       for layer in layers)
    else:
        head = layers[0].label
    return head, layers[-1].out_shape, cost.total_params(module)


def network_diagram(model, input_shape):
    """A network as one box per top-level part (a block, a pooling layer), top to bottom, with
    the shape torch computes after it and its parameters."""
    parts = []
    shape = tuple(input_shape)
    for child in model.children():
        if isinstance(child, nn.Flatten):
            shape = (math.prod(shape),)  # (C, H, W) -> (C·H·W,)
            continue
        if isinstance(child, (nn.Dropout, nn.ReLU)):  # no change of shape, nothing to draw
            continue
        head, shape, params = _block_summary(child, shape)
        kind = "conv" if isinstance(child, nn.Sequential) else _kind(child)
        parts.append((head, shape, params, kind))
    height = _column_height(len(parts)) + 0.5
    width = 5.6
    fig, (ax,) = _canvas(width, height)
    y = height - 0.25
    lines_alt = []
    for i, (head, shape, params, kind) in enumerate(parts):
        lines = [head, f"output {_shape_text(shape)}, {params:,} parameters"]
        _box(ax, width / 2, y - BOX_H / 2, lines, FILLS[kind], width=width - 0.3)
        lines_alt.append(f"{head}, output {_shape_text(shape)}, {params:,} parameters")
        y -= BOX_H
        if i < len(parts) - 1:
            _arrow(ax, (width / 2, y), (width / 2, y - GAP))
            y -= GAP
    alt = (f"Block diagram of a network on a {_shape_text(input_shape)} input, top to bottom: "
           + "; ".join(lines_alt) + ".")
    return Diagram(fig, alt)


def inception_diagram(modules, input_shape):
    """Inception modules ({title: models.Inception}) side by side: the input, four branches
    with the channels of every layer and its multiplications per position, the concatenation."""
    width, panels = 6.4, []
    for title, module in modules.items():
        branches = [layers_of(b, input_shape) for b in
                    (module.branch1, module.branch3, module.branch5, module.branch_pool)]
        panels.append((title, module, branches))
    deepest = max(len(b) for _, _, branches in panels for b in branches)
    height = _column_height(deepest) + 2 * BOX_H + 2 * GAP + 0.7
    fig, axes = _canvas(width, height, len(panels))
    alt_parts = []
    for ax, (title, module, branches) in zip(axes, panels):
        ax.set_title(title, fontsize=9)
        top = height - 0.35
        _box(ax, width / 2, top - BOX_H / 2, ["input", _shape_text(input_shape)],
             FILLS["other"], width=2.2)
        xs = [width * (i + 0.5) / 4 for i in range(4)]
        start = top - BOX_H - GAP
        outs = []
        for x, layers in zip(xs, branches):
            _arrow(ax, (width / 2, top - BOX_H), (x, start))
            bottom = _column(ax, x, start, layers, "channels", width=width / 4 - 0.12)
            outs.append((x, bottom, layers[-1].out_shape[0]))
        concat_y = start - _column_height(deepest) - GAP - BOX_H / 2
        channels = [c for _, _, c in outs]
        total = module.out_channels
        _box(ax, width / 2, concat_y, ["concatenate on channels",
                                       " + ".join(map(str, channels)) + f" = {total}"],
             FILLS["other"], width=width - 0.15)
        for x, bottom, c in outs:
            _arrow(ax, (x, bottom), (x, concat_y + BOX_H / 2), label=str(c))
        per_branch = []
        for name, layers in zip(("1×1 branch", "3×3 branch", "5×5 branch", "pool branch"),
                                branches):
            steps = ", ".join(f"{layer.title} {layer.in_shape[0]} → {layer.out_shape[0]}"
                              for layer in layers)
            per_branch.append(f"{name}: {steps}")
        alt_parts.append(f"{title}: " + "; ".join(per_branch)
                         + f"; concatenated: {' + '.join(map(str, channels))} = {total} "
                           "channels.")
    alt = (f"Diagrams of {len(panels)} Inception modules on a {_shape_text(input_shape)} "
           "input. " + " ".join(alt_parts))
    return Diagram(fig, alt)


def body_mults(layers):
    """Multiplications of a stack of layers per output position of its last layer: each
    layer's count per position, times its positions, over the last layer's positions (the
    plain sum when no layer changes the height and width)."""
    def positions(shape):
        return math.prod(shape[1:])

    total = sum(layer.mults * positions(layer.out_shape) for layer in layers
                if layer.mults is not None)
    return total // positions(layers[-1].out_shape)


def residual_diagram(blocks, size=(56, 56)):
    """Residual blocks ({title: BasicBlock or Bottleneck}) side by side, each on an input of
    its own channels and `size`: the body with each layer's channels and multiplications per
    output position, the shortcut, the addition."""
    panels = []
    for title, block in blocks.items():
        shape = (block.body[0].in_channels, *size)
        panels.append((title, shape, layers_of(block.body, shape),
                       layers_of(block.shortcut, shape)))
    deepest = max(len(body) for _, _, body, _ in panels)
    width = BOX_W + 1.6
    height = _column_height(deepest) + 2 * BOX_H + 3 * GAP + 0.8
    fig, axes = _canvas(width, height, len(panels))
    alt_parts = []
    for ax, (title, input_shape, body, shortcut) in zip(axes, panels):
        ax.set_title(title, fontsize=9)
        x, top = BOX_W / 2 + 0.15, height - 0.35
        _box(ax, x, top - BOX_H / 2, ["input", _shape_text(input_shape)], FILLS["other"])
        start = top - BOX_H - GAP
        _arrow(ax, (x, top - BOX_H), (x, start))
        bottom = _column(ax, x, start, body, "channels")
        add_y = start - _column_height(deepest) - GAP - 0.18
        _arrow(ax, (x, bottom), (x, add_y + 0.18))
        _plus(ax, x, add_y)
        side = BOX_W + 0.55
        # the shortcut: from the input, down the right-hand side, into the addition
        ax.plot([x + BOX_W / 2, side, side], [top - BOX_H / 2, top - BOX_H / 2, add_y],
                color="black", linewidth=0.9)
        _arrow(ax, (side, add_y), (x + 0.18, add_y))
        short = shortcut[0]
        if short.title == "identity":
            words = ["identity", "0 mult."]
        else:
            words = [short.label.replace(" + ", "\n+ "), f"{short.mults:,} mult."]
        ax.text(side + 0.05, (top + add_y) / 2, "\n".join(words), ha="left", va="center",
                fontsize=7, rotation=0)
        out_y = add_y - 0.18 - GAP
        _arrow(ax, (x, add_y - 0.18), (x, out_y))
        total = body_mults(body)
        ax.text(x, out_y - 0.1, f"ReLU, output {_shape_text(body[-1].out_shape)}\n"
                f"body: {total:,} mult. per output position", ha="center", va="top",
                fontsize=7.5)
        steps = "; ".join(f"{layer.label}, {layer.in_shape[0]} to {layer.out_shape[0]} "
                          f"channels, {layer.mults:,} multiplications per position"
                          for layer in body)
        alt_parts.append(f"{title} on a {_shape_text(input_shape)} input: {steps}; body "
                         f"total {total:,}; shortcut: "
                         f"{short.label}; the sum goes through a ReLU.")
    alt = (f"Diagrams of {len(panels)} residual blocks, each a column of layers with a "
           "shortcut beside it. " + " ".join(alt_parts))
    return Diagram(fig, alt)


def heads_diagram(heads, feature_shape):
    """Classifier heads ({title: module}) side by side on the same feature maps, with every
    layer's shapes and parameters. A models.GAPHead averages in its forward(), not in a layer:
    its diagram gets that step as a box of its own."""
    return stacks_diagram(heads, feature_shape, show="shapes")


def inception_channels(net, input_shape=(3, 224, 224)):
    """{module name: channels after it} for every Inception module of a GoogLeNet."""
    rows = [r for r in cost.block_rows(net, input_shape) if r.kind == "Inception"]
    names = [spec[0] for spec in models.GOOGLENET_INCEPTIONS]
    return {name: row.out_shape[0] for name, row in zip(names, rows)}


def snowball_diagram(nets, input_shape=(3, 224, 224)):
    """Channels after each Inception module, one line per GoogLeNet ({label: network})."""
    curves = {label: inception_channels(net, input_shape) for label, net in nets.items()}
    fig = Figure(figsize=(6.4, 3.4), layout="constrained")
    ax = fig.subplots()
    styles = (("o", "-"), ("s", "--"))
    for i, (label, channels) in enumerate(curves.items()):
        marker, dash = styles[i % 2]
        names, values = list(channels), list(channels.values())
        ax.plot(names, values, marker=marker, linestyle=dash, color=OKABE_ITO[i], label=label)
        ax.annotate(f"{values[-1]:,}", (names[-1], values[-1]), textcoords="offset points",
                    xytext=(-4, 6), ha="right", fontsize=8)
    ax.set_xlabel("Inception module")
    ax.set_ylabel("channels after the module")
    ax.set_ylim(0, None)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    parts = []
    for label, channels in curves.items():
        values = list(channels.values())
        parts.append(f"{label}: from {values[0]:,} after {next(iter(channels))} to "
                     f"{values[-1]:,} after {list(channels)[-1]} (at most {max(values):,})")
    alt = ("Line chart of the channels after each of GoogLeNet's Inception modules. "
           + "; ".join(parts) + ".")
    return Diagram(fig, alt)


def figure_directive(key, name, alt, caption):
    """The MyST text of a numbered figure showing the glued figure `key` (for a page cell that
    outputs Markdown); the alt text is kept on one line."""
    alt = " ".join(alt.split())
    return (f":::{{glue:figure}} {key}\n:alt: {alt}\n:name: {name}\n\n{caption}\n:::\n")
