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
