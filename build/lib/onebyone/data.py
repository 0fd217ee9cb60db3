"""Seeded data made on the fly: the same numbers at every build, nothing downloaded."""

import numpy as np


def rng(seed):
    """A NumPy random generator; every figure and test case in the course starts from one."""
    return np.random.default_rng(seed)


def conv1x1_case(seed, max_size=6):
    """One random 1×1-convolution problem: x (N, C_in, H, W), weight (C_out, C_in), bias or None."""
    g = rng(seed)
    n, c_in, c_out, h, w = (int(v) for v in g.integers(1, max_size + 1, size=5))
    return {
        "x": g.normal(size=(n, c_in, h, w)),
        "weight": g.normal(size=(c_out, c_in)),
        "bias": g.normal(size=c_out) if g.random() < 0.7 else None,
    }


def conv1x1_cases(seed, count):
    """`count` random 1×1-convolution problems, reproducible from `seed`."""
    return [conv1x1_case(seed * 1000 + i) for i in range(count)]


# --- Shapes at a position: the translation experiment of the global-average-pooling chapter ----

SHAPE_SIZE = 7  # every shape is drawn in a 7×7 box


def _shape_stamps():
    """The four shapes as 7×7 arrays of 0 and 1, in class order."""
    n = SHAPE_SIZE
    eye = np.eye(n)
    square = np.zeros((n, n))
    square[[0, -1], :] = square[:, [0, -1]] = 1           # the outline of a box
    plus = np.zeros((n, n))
    plus[n // 2, :] = plus[:, n // 2] = 1                   # a + sign
    cross = np.maximum(eye, eye[::-1])                      # an × sign: both diagonals
    yy, xx = np.mgrid[:n, :n] - n // 2
    ring = (np.abs(np.hypot(yy, xx) - 2.6) < 0.7).astype(float)   # a ring of radius ~2.6
    return np.stack([square, plus, cross, ring])           # (4, 7, 7)


SHAPE_NAMES = ("square", "plus", "cross", "ring")
SHAPE_STAMPS = _shape_stamps()


def shapes(seed, count, size=32, x_range=(0, 8), noise=0.1):
    """`count` grey images of one shape each, on a noisy background, and their class labels.

    Each shape's 7×7 box sits at a random row (anywhere) and a random column of its left edge in
    `x_range` = (first, last) inclusive, so a training set and a test set can put the shapes in
    different horizontal regions. Returns images (count, 1, size, size) float32, labels (count,)
    int64, and the left-edge columns (count,).
    """
    first, last = x_range
    if not 0 <= first <= last <= size - SHAPE_SIZE:
        raise ValueError(f"x_range {x_range} must lie within 0..{size - SHAPE_SIZE} "
                         f"for a {SHAPE_SIZE}-pixel shape in a {size}-pixel image")
    g = rng(seed)
    labels = g.integers(0, len(SHAPE_STAMPS), size=count)
    rows = g.integers(0, size - SHAPE_SIZE + 1, size=count)
    cols = g.integers(first, last + 1, size=count)
    brightness = g.uniform(0.6, 1.0, size=count)           # not every shape equally bright
    images = noise * g.normal(size=(count, 1, size, size))
    for i in range(count):
        box = (0, slice(rows[i], rows[i] + SHAPE_SIZE), slice(cols[i], cols[i] + SHAPE_SIZE))
        images[i][box] += brightness[i] * SHAPE_STAMPS[labels[i]]
    return images.astype(np.float32), labels.astype(np.int64), cols
