"""Wall-clock timing of torch modules on this machine. Numbers from here vary from run to run and
from machine to machine: the chapters show them as measurements, and no test asserts them."""

import time

import torch


def median_seconds(module, x, repeat=7, warmup=2):
    """The median time of `module(x)` over `repeat` calls, after `warmup` untimed calls."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {repeat}")
    module.eval()
    times = []
    with torch.no_grad():
        for i in range(warmup + repeat):
            start = time.perf_counter()
            module(x)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]
