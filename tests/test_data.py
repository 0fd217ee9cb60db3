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


# --- The handwritten digits ----------------------------------------------------------------------

def test_digits_are_what_scikit_learn_loads():
    """Our reader of the bundled file and scikit-learn's `load_digits` give the same data."""
    from sklearn.datasets import load_digits

    images, labels = data.digits()
    bunch = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    np.testing.assert_array_equal(images, (bunch.images / 16.0).astype(np.float32))
    np.testing.assert_array_equal(labels, bunch.target)
    assert images.min() == 0.0 and images.max() == 1.0
    assert set(labels.tolist()) == set(range(10))
    images[0] = 5  # a caller's copy: changing it changes nobody else's
    assert data.digits()[0][0].max() <= 1.0


def test_digits_come_from_inside_the_installed_package(monkeypatch):
    """Nothing is downloaded: with every network connection refused, both readers still work,
    and the file read is one of the files the scikit-learn wheel installed."""
    import importlib.metadata
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    data._bundled_digits.cache_clear()
    from sklearn.datasets import load_digits

    assert len(data.digits()[1]) == len(load_digits().target) == 1797
    installed = {f.as_posix() for f in importlib.metadata.files("scikit-learn")}
    assert "sklearn/" + "/".join(data.DIGITS_FILE) in installed


def test_split_is_seeded_disjoint_and_complete():
    train_a, test_a = data.split_digits(0, 600)
    train_b, test_b = data.split_digits(0, 600)
    _, test_c = data.split_digits(1, 600)
    np.testing.assert_array_equal(test_a, test_b)
    np.testing.assert_array_equal(train_a, train_b)
    assert not np.array_equal(test_a, test_c)
    assert len(test_a) == 600 and len(train_a) == 1797 - 600
    assert set(train_a).isdisjoint(test_a)
    assert sorted(set(train_a) | set(test_a)) == list(range(1797))


@pytest.mark.parametrize("n_test", [0, 1797, -3])
def test_split_refuses_impossible_sizes(n_test):
    with pytest.raises(ValueError, match="n_test"):
        data.split_digits(0, n_test)


def test_placed_digits_sit_where_reported_and_are_unchanged():
    """Each canvas holds the digit, untouched, at the reported corner and is black elsewhere."""
    images = data.digits()[0][:40]
    canvases, rows, cols = data.place_digits(images, 3, size=24, x_range=(2, 7))
    assert canvases.shape == (40, 1, 24, 24) and canvases.dtype == np.float32
    assert cols.min() >= 2 and cols.max() <= 7
    assert rows.min() >= 0 and rows.max() <= 24 - data.DIGIT_SIZE
    for canvas, image, row, col in zip(canvases[:, 0], images, rows, cols, strict=True):
        window = (slice(row, row + 8), slice(col, col + 8))
        np.testing.assert_array_equal(canvas[window], image)
        outside = canvas.copy()
        outside[window] = 0
        assert not outside.any()


def test_placement_is_seeded():
    images = data.digits()[0][:10]
    a = data.place_digits(images, 5)
    b = data.place_digits(images, 5)
    c = data.place_digits(images, 6)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_moving_the_band_moves_every_digit_by_the_same_shift():
    """The GAP chapter's shifted test sets: same seed, band moved by k -> canvases moved by k."""
    images = data.digits()[0][:30]
    base, rows, cols = data.place_digits(images, 2, size=24, x_range=(0, 5))
    for k in (1, 6, 11):
        moved, rows_k, cols_k = data.place_digits(images, 2, size=24, x_range=(k, k + 5))
        np.testing.assert_array_equal(rows_k, rows)
        np.testing.assert_array_equal(cols_k, cols + k)
        np.testing.assert_array_equal(moved, np.roll(base, k, axis=-1))  # nothing wraps round


@pytest.mark.parametrize("kwargs", [{"x_range": (0, 17)}, {"y_range": (-1, 3)},
                                    {"x_range": (6, 5)}, {"size": 7}])
def test_placement_refuses_ranges_that_do_not_fit(kwargs):
    with pytest.raises(ValueError, match="range"):
        data.place_digits(data.digits()[0][:2], 0, **kwargs)


def test_placement_refuses_images_of_another_size():
    with pytest.raises(ValueError, match="8, 8"):
        data.place_digits(np.zeros((2, 7, 7)), 0)
