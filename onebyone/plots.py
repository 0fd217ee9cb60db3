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
