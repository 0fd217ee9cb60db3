"""The NumPy reference 1×1 convolution against torch's, at a realistic layer size."""

import numpy as np
import torch

from onebyone import layers
from onebyone.tools.bench import median_seconds

TITLE = "1×1 convolution, N=8, 192 -> 64 channels, 28×28, float64 (median of 20 runs)"


def run(repeats=20):
    g = np.random.default_rng(0)
    x = g.normal(size=(8, 192, 28, 28))  # float64: the reference computes in float64
    w = g.normal(size=(64, 192))
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)[:, :, None, None]  # (64, 192, 1, 1)
    timings = {
        "numpy conv1x1 (onebyone.layers)": median_seconds(lambda: layers.conv1x1(x, w), repeats),
        "torch conv2d, 1x1 kernel": median_seconds(
            lambda: torch.nn.functional.conv2d(tx, tw), repeats),
    }
    fastest = min(timings.values())
    return [{"implementation": name, "median ms": f"{t * 1e3:.2f}",
             "vs fastest": f"{t / fastest:.2f}x"} for name, t in timings.items()]
