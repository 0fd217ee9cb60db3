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
