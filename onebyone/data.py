"""The course's data: made on the fly from a seed, or read from files inside an installed package.

The same numbers at every build; nothing is downloaded.
"""

import functools
import importlib.util
import pathlib

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


# --- Real handwritten digits on a larger canvas: the experiments of the last two chapters ------

DIGIT_SIZE = 8  # the bundled digits are 8×8
DIGITS_FILE = ("datasets", "data", "digits.csv.gz")  # inside the sklearn package


@functools.cache
def _bundled_digits():
    # The file scikit-learn's `load_digits` reads, found without importing scikit-learn (that
    # import takes a second): it ships inside the installed wheel, nothing is downloaded.
    # tests/test_data.py checks that this gives what `load_digits` gives.
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ModuleNotFoundError("the digits ship with scikit-learn: pip install scikit-learn")
    path = pathlib.Path(spec.submodule_search_locations[0], *DIGITS_FILE)
    table = np.loadtxt(path, delimiter=",")                # (1797, 65): 64 pixels, then label
    images = (table[:, :-1] / 16.0).astype(np.float32)     # counts 0..16 -> 0..1
    images = images.reshape(-1, DIGIT_SIZE, DIGIT_SIZE)    # (1797, 64) -> (1797, 8, 8)
    labels = table[:, -1].astype(np.int64)
    return images, labels


def digits():
    """The 1797 handwritten digits bundled with scikit-learn: images (1797, 8, 8) float32 in
    0..1 and labels (1797,) int64 (0-9). The file is read once; each call gets its own copy."""
    images, labels = _bundled_digits()
    return images.copy(), labels.copy()


def split_digits(seed, n_test):
    """A seeded split of the digits' indices into (train, test), each sorted."""
    count = len(digits()[1])
    if not 0 < n_test < count:
        raise ValueError(f"n_test must be between 1 and {count - 1}, not {n_test}")
    order = rng(seed).permutation(count)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def place_digits(images, seed, size=24, x_range=None, y_range=None):
    """Each 8×8 image pasted onto a black size×size canvas at a seeded random place.

    The digit's top-left corner gets a column in `x_range` and a row in `y_range`, both
    (first, last) inclusive; None means anywhere the digit fits. Returns canvases
    (N, 1, size, size) float32, and the rows (N,) and columns (N,) of the corners.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or images.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE):
        raise ValueError(f"expected images of shape (N, 8, 8), got {images.shape}")
    last_fit = size - DIGIT_SIZE
    ranges = []
    for name, given in (("y_range", y_range), ("x_range", x_range)):
        first, last = (0, last_fit) if given is None else given
        if not 0 <= first <= last <= last_fit:
            raise ValueError(f"{name} {given} must lie within 0..{last_fit} for an "
                             f"{DIGIT_SIZE}-pixel digit on a {size}-pixel canvas")
        ranges.append((first, last))
    g = rng(seed)
    rows = g.integers(ranges[0][0], ranges[0][1] + 1, size=len(images))
    cols = g.integers(ranges[1][0], ranges[1][1] + 1, size=len(images))
    canvases = np.zeros((len(images), 1, size, size), dtype=np.float32)
    for i, (row, col) in enumerate(zip(rows, cols)):
        canvases[i, 0, row:row + DIGIT_SIZE, col:col + DIGIT_SIZE] = images[i]
    return canvases, rows, cols
