"""The synthetic shapes: reproducible, and where they are said to be."""

import numpy as np
import pytest

from onebyone import data


def test_same_seed_same_arrays_and_different_seed_differs():
    a = data.shapes(3, 20)
    b = data.shapes(3, 20)
    c = data.shapes(4, 20)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_shapes_sit_in_the_requested_columns():
    """With no noise, every lit pixel lies in the 7 columns from the reported left edge."""
    images, labels, cols = data.shapes(0, 50, size=32, x_range=(10, 15), noise=0.0)
    assert images.shape == (50, 1, 32, 32) and images.dtype == np.float32
    assert labels.dtype == np.int64 and set(labels) <= set(range(len(data.SHAPE_NAMES)))
    assert cols.min() >= 10 and cols.max() <= 15
    for image, col in zip(images[:, 0], cols, strict=True):
        lit = np.nonzero(image.any(axis=0))[0]
        assert lit.min() >= col and lit.max() < col + data.SHAPE_SIZE


def test_the_four_stamps_are_different():
    flat = data.SHAPE_STAMPS.reshape(len(data.SHAPE_STAMPS), -1)
    assert len({row.tobytes() for row in flat}) == len(data.SHAPE_NAMES)


@pytest.mark.parametrize("x_range", [(-1, 3), (5, 4), (0, 26)])
def test_bad_ranges_are_refused(x_range):
    with pytest.raises(ValueError, match="x_range"):
        data.shapes(0, 5, size=32, x_range=x_range)
