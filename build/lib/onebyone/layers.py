"""NumPy reference operations of the course: the answers the exercises are checked against.

Arrays are NCHW, as in torch: (batch, channels, height, width).
"""

import numpy as np


def conv1x1(x, weight, bias=None):
    """A 1×1 convolution: one matrix product over channels, applied at every pixel.

    x: (N, C_in, H, W); weight: (C_out, C_in); bias: (C_out,) or None.
    Returns (N, C_out, H, W).
    """
    x = np.asarray(x, dtype=float)
    weight = np.asarray(weight, dtype=float)
    n, c_in, h, w = x.shape
    if weight.shape[1] != c_in:
        raise ValueError(f"weight has {weight.shape[1]} input channels, x has {c_in}")
    pixels = x.reshape(n, c_in, h * w)  # (N, C_in, H*W): every column is one pixel's channel vector
    out = weight @ pixels  # (C_out, C_in) @ (N, C_in, H*W) -> (N, C_out, H*W), one BLAS call
    if bias is not None:
        out = out + np.asarray(bias, dtype=float)[None, :, None]
    return out.reshape(n, weight.shape[0], h, w)  # (N, C_out, H, W)


def relu(x):
    """Rectified linear unit, elementwise."""
    return np.maximum(np.asarray(x, dtype=float), 0.0)


def global_avg_pool(x):
    """Global average pooling: the mean of each feature map, (N, C, H, W) -> (N, C)."""
    return np.asarray(x, dtype=float).mean(axis=(2, 3))


def permute_positions(x, seed):
    """Shuffle the H·W positions of every feature map with one seeded permutation.

    out[n, c].flat[i] = x[n, c].flat[perm[i]] with perm = default_rng(seed).permutation(H*W):
    the same shuffle for every sample and channel, so each position keeps its channel vector.
    """
    x = np.asarray(x, dtype=float)
    n, c, h, w = x.shape
    perm = np.random.default_rng(seed).permutation(h * w)
    return x.reshape(n, c, h * w)[:, :, perm].reshape(n, c, h, w)  # (N, C, H*W) -> (N, C, H, W)
