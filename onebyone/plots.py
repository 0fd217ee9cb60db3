"""The course's figures. Colours come from colour-blind-safe palettes (cividis, Okabe–Ito)."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.patches import Rectangle

from onebyone import layers

HIGHLIGHT = "#D55E00"  # Okabe–Ito vermillion: visible on cividis, light and dark themes


def _show_map(ax, image, title, vmin, vmax, pixel):
    ax.imshow(image, cmap="cividis", vmin=vmin, vmax=vmax)
    ax.add_patch(Rectangle((pixel[1] - 0.5, pixel[0] - 0.5), 1, 1, fill=False,
                           edgecolor=HIGHLIGHT, linewidth=2.5))
    ax.text(pixel[1], pixel[0], f"{image[pixel]:g}", ha="center", va="center", fontsize=9,
            fontweight="bold", color="white",
            path_effects=[patheffects.withStroke(linewidth=2.5, foreground="black")])
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def per_pixel_figure(x, weight, pixel=(1, 2)):
    """Input channels, the weight matrix and output channels of a 1×1 convolution.

    x: (C_in, H, W); weight: (C_out, C_in). The highlighted pixel of every output channel is
    computed from the highlighted pixel of the input channels only: one dot product per output.
    """
    out = layers.conv1x1(x[None], weight)[0]  # (1, C_in, H, W) -> (C_out, H, W)
    c_in, c_out = x.shape[0], weight.shape[0]
    columns = max(c_in, c_out)
    fig, axes = plt.subplots(3, columns, figsize=(1.7 * columns, 5.6),
                             gridspec_kw={"height_ratios": [1, 1.1, 1]}, layout="constrained")
    lo, hi = min(x.min(), out.min()), max(x.max(), out.max())
    for j in range(columns):
        for row in (0, 2):
            axes[row, j].axis("off")
        if j < c_in:
            axes[0, j].axis("on")
            _show_map(axes[0, j], x[j], f"input channel {j}", lo, hi, pixel)
        if j < c_out:
            axes[2, j].axis("on")
            _show_map(axes[2, j], out[j], f"output channel {j}", lo, hi, pixel)
        axes[1, j].remove()
    middle = fig.add_subplot(3, 1, 2)
    middle.imshow(weight, cmap="cividis")
    for (o, c), value in np.ndenumerate(weight):
        middle.text(c, o, f"{value:+.1f}", ha="center", va="center", fontsize=8,
                    color="white" if value < weight.mean() else "black")
    middle.set_xticks(range(c_in), [f"in {c}" for c in range(c_in)], fontsize=8)
    middle.set_yticks(range(c_out), [f"out {o}" for o in range(c_out)], fontsize=8)
    middle.set_title("weight (C_out × C_in): one row per output channel", fontsize=9)
    return fig


# Okabe–Ito colours for categories, in a fixed order; distinguishable with colour-blindness.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


def stacked_bars_figure(categories, parts, ylabel, title=None, fmt="{:,.0f}", ax=None):
    """One bar per category, stacked from `parts` ({part label: one value per category}); the
    total is written above each bar. Parts are told apart by colour and by hatching. Draws on
    `ax` if given (to put several charts in one figure), else on a new figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    fig = ax.figure
    bottom = np.zeros(len(categories))
    hatches = ("", "//", "..", "xx", "\\\\")
    for i, (label, values) in enumerate(parts.items()):
        values = np.asarray(values, dtype=float)
        ax.bar(categories, values, bottom=bottom, label=label, color=OKABE_ITO[i % 7],
               hatch=hatches[i % len(hatches)], edgecolor="black", linewidth=0.6)
        bottom += values
    for x, total in enumerate(bottom):
        ax.text(x, total, fmt.format(total), ha="center", va="bottom", fontsize=9)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, bottom.max() * 1.15)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def shape_examples_figure(groups, names):
    """Rows of example images: `groups` is {row title: (images (N, 1, H, W), labels (N,))}."""
    columns = max(len(images) for images, _ in groups.values())
    fig, axes = plt.subplots(len(groups), columns, figsize=(1.25 * columns, 1.5 * len(groups)),
                             layout="constrained", squeeze=False)
    for row, (title, (images, labels)) in enumerate(groups.items()):
        for col in range(columns):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(images):
                ax.axis("off")
                continue
            ax.imshow(images[col, 0], cmap="cividis")
            ax.set_title(names[labels[col]], fontsize=8)
        axes[row, 0].set_ylabel(title, fontsize=8)
    return fig


def accuracy_curves_figure(shifts, curves, xlabel, chance=None):
    """Test accuracy against shift, one line per model ({label: accuracies}). Lines differ in
    colour, marker and dash pattern, so they stay apart in grey print too."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    styles = (("o", "-"), ("s", "--"), ("^", ":"), ("D", "-."))
    for i, (label, values) in enumerate(curves.items()):
        marker, dash = styles[i % len(styles)]
        ax.plot(shifts, values, marker=marker, linestyle=dash, color=OKABE_ITO[i % 7],
                label=label)
    if chance is not None:
        ax.axhline(chance, color="grey", linewidth=1, linestyle=(0, (1, 3)))
        ax.text(shifts[-1], chance, "chance", ha="right", va="bottom", fontsize=8, color="0.3")
    ax.set_xticks(list(shifts))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def class_maps_figure(images, maps, titles):
    """Each image above its class activation map (upsampled to the image size by repetition).

    images: (N, 1, H, W); maps: (N, h, w), one map per image (the predicted class's).
    """
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.45 * n, 3.2), layout="constrained", squeeze=False)
    for i in range(n):
        scale = images.shape[-1] // maps.shape[-1]
        big = np.kron(maps[i], np.ones((scale, scale)))   # (h, w) -> (H, W), blocky on purpose
        axes[0, i].imshow(images[i, 0], cmap="cividis")
        axes[1, i].imshow(big, cmap="cividis")
        axes[0, i].set_title(titles[i], fontsize=8)
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("image", fontsize=8)
    axes[1, 0].set_ylabel("class map", fontsize=8)
    return fig


# --- Block diagrams drawn from torch modules (the pointwise chapter) ------------------------------

def _after_each_conv(module):
    """{conv: words for what follows it before the next convolution}, e.g. "batch norm, ReLU6",
    read from the module's leaf layers in the order they are defined (= the order they run)."""
    from torch import nn

    leaves = [m for m in module.modules() if next(m.children(), None) is None]
    following, current = {}, None
    for leaf in leaves:
        if isinstance(leaf, nn.Conv2d):
            current = leaf
            following[current] = []
        elif current is not None and isinstance(leaf, (nn.BatchNorm2d, nn.ReLU, nn.ReLU6)):
            following[current].append({nn.BatchNorm2d: "batch norm", nn.ReLU: "ReLU",
                                       nn.ReLU6: "ReLU6"}[type(leaf)])
    return {conv: ", ".join(words) + ("" if any("ReLU" in w for w in words) else
                                      (", " if words else "") + "linear")
            for conv, words in following.items()}


def _conv_name(conv):
    """"3×3 depthwise", "1×1", "1×1 grouped (4 groups)" or "3×3" for a Conv2d, with its stride."""
    k = conv.kernel_size[0]
    name = f"{k}×{k}"
    if conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels:
        name += " depthwise"
    elif conv.groups > 1:
        name += f" grouped ({conv.groups} groups)"
    return name + (f", stride {conv.stride[0]}" if conv.stride[0] > 1 else "")


def conv_steps(module, input_shape):
    """One dict per convolution of `module` in the order it runs on zeros of `input_shape`
    (C, H, W): name, in/out shapes, multiplications, and what follows it."""
    from onebyone import cost

    modules = dict(module.named_modules())
    after = _after_each_conv(module)
    steps = []
    for layer in cost.count_model(module, input_shape):
        conv = modules[layer.name] if layer.name else module
        if layer.kind != "Conv2d":
            continue
        steps.append({"name": _conv_name(conv), "in": layer.in_shape, "out": layer.out_shape,
                      "mults": layer.mults, "then": after.get(conv, "linear")})
    return steps


def describe_block(module, input_shape):
    """A sentence listing the block's convolutions, for alt text and captions."""
    steps = conv_steps(module, input_shape)
    c, h, w = input_shape
    parts = [f"a {s['name']} convolution from {s['in'][0]} to {s['out'][0]} channels "
             f"({s['then']})" for s in steps]
    text = f"From an input of {c} channels of {h}×{w}: " + "; then ".join(parts) + "."
    if getattr(module, "residual", False):
        text += " The input is added to the output."
    return text


def _box(ax, x, y, width, text, detail, colour):
    ax.add_patch(Rectangle((x - width / 2, y - 0.32), width, 0.64, facecolor=colour,
                           edgecolor="black", linewidth=0.8))
    ax.text(x, y + 0.1, text, ha="center", va="center", fontsize=8.5, fontweight="bold")
    ax.text(x, y - 0.16, detail, ha="center", va="center", fontsize=7.5)


def _arrow(ax, x, y_from, y_to):
    ax.annotate("", xy=(x, y_to), xytext=(x, y_from),
                arrowprops={"arrowstyle": "->", "color": "black", "linewidth": 0.8})


def _step_colour(name):
    """Depthwise orange, 1×1 sky blue, grouped green, any other convolution light grey."""
    if "depthwise" in name:
        return OKABE_ITO[1]
    if "grouped" in name:
        return OKABE_ITO[2]
    return OKABE_ITO[4] if name.startswith("1×1") else "#d9d9d9"


def block_diagram(ax, module, input_shape, title, widest=None):
    """Draw `module`'s convolutions top to bottom on `ax`: one box per convolution, as wide as
    the tensor it outputs is deep (in channels), labelled with its channels, what follows it and
    the multiplications it costs. A block with `residual` set gets a skip arrow to an addition.
    Returns the lowest y drawn."""
    steps = conv_steps(module, input_shape)
    widest = widest or max(max(s["out"][0], s["in"][0]) for s in steps)

    def width(channels):
        return 1.3 + 1.5 * (channels / widest) ** 0.5  # 4× the channels, about 2× wider

    c, h, w = input_shape
    y = 0.0
    _box(ax, 0, y, width(c), "input", f"{c} × {h} × {w}", "white")
    for step in steps:
        _arrow(ax, 0, y - 0.32, y - 0.68)
        y -= 1.0
        c_in, (c_out, h_out, w_out) = step["in"][0], step["out"]
        _box(ax, 0, y, width(c_out), f"{step['name']}, {c_in} → {c_out}",
             f"{step['then']} · {step['mults'] / 1e6:.2f} M mults", _step_colour(step["name"]))
    _arrow(ax, 0, y - 0.32, y - 0.68)
    y -= 1.0
    if getattr(module, "residual", False):
        right = max(width(s["out"][0]) for s in steps) / 2 + 0.15
        y_add = y + 0.12
        ax.plot([width(c) / 2, right, right], [0.0, 0.0, y_add], color=HIGHLIGHT, linewidth=1.4)
        ax.annotate("", xy=(0.2, y_add), xytext=(right, y_add),
                    arrowprops={"arrowstyle": "->", "color": HIGHLIGHT, "linewidth": 1.4})
        ax.text(0, y_add, "+", ha="center", va="center", fontsize=14, color=HIGHLIGHT,
                fontweight="bold")
        ax.text(right + 0.05, y / 2, "input added", rotation=-90, ha="left", va="center",
                fontsize=7.5, color=HIGHLIGHT)
        y -= 0.4
    _box(ax, 0, y, width(c_out), "output", f"{c_out} × {h_out} × {w_out}", "white")
    ax.set_xlim(-1.55, 1.75)
    ax.set_ylim(y - 0.5, 0.5)
    ax.set_title(title, fontsize=9.5)
    ax.axis("off")
    return y


def block_diagrams_figure(blocks, input_shape):
    """Blocks side by side ({title: module}), all drawn on the same input and the same scale of
    channels, so their widths and costs compare."""
    steps = [conv_steps(module, input_shape) for module in blocks.values()]
    widest = max(max(s["out"][0], s["in"][0]) for block in steps for s in block)
    depth = max(len(block) for block in steps) + 2.4
    fig, axes = plt.subplots(1, len(blocks), figsize=(3.6 * len(blocks), 0.95 * depth + 0.4),
                             layout="constrained", squeeze=False)
    lowest = 0.0
    for ax, (title, module) in zip(axes[0], blocks.items(), strict=True):
        lowest = min(lowest, block_diagram(ax, module, input_shape, title, widest))
    for ax in axes[0]:
        ax.set_ylim(lowest - 0.5, 0.5)
    return fig


def myst_figure(fig, alt, caption, name, dpi=110):
    """A MyST figure directive holding `fig` as an inline PNG, with alt text and caption made by
    the caller from data. Display it as Markdown from a cell rendered as MyST."""
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    plt.close(fig)
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = " ".join(alt.split())  # one line: a directive option
    return f"```{{figure}} {uri}\n:alt: {alt}\n:name: {name}\n\n{caption}\n```\n"


def loss_curves_figure(curves, batches_per_epoch, window=10):
    """Training loss against epochs, one line per model ({label: the loss of every batch}).

    Each line is the mean of the last `window` batches (fewer at the start), so the noise of
    single batches does not hide the trend. Lines differ in colour, marker and dash pattern.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    styles = (("o", "-"), ("s", "--"), ("^", ":"), ("D", "-."))
    for i, (label, losses) in enumerate(curves.items()):
        losses = np.asarray(losses, dtype=float)
        sums = np.concatenate([[0.0], np.cumsum(losses)])
        steps = np.arange(1, len(losses) + 1)
        starts = np.maximum(steps - window, 0)
        smooth = (sums[steps] - sums[starts]) / (steps - starts)   # running mean
        marker, dash = styles[i % len(styles)]
        ax.plot(steps / batches_per_epoch, smooth, linestyle=dash, color=OKABE_ITO[i % 7],
                marker=marker, markevery=max(len(losses) // 8, 1), label=label)
    ax.set_xlabel("epochs of training")
    ax.set_ylabel(f"training loss (mean of {window} batches)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig
