"""Benchmarks: `onebyone bench [NAME ...]` (or `make bench`).

Each module here measures one thing and defines `run(repeats)`, returning rows of a table:
dicts with the same keys. Times are medians of several runs; ratios are taken within one run.
Nothing here is asserted: speed is reported, never tested.
"""

import importlib
import pkgutil
import statistics
import time


def median_seconds(action, repeats, warmup=1):
    """Median wall-clock seconds of `action()` over `repeats` runs, after `warmup` runs."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def print_table(title, rows):
    """Rows (dicts with the same keys) as an aligned text table."""
    print(f"\n## {title}\n")
    if not rows:
        print("(no rows)")
        return
    keys = list(rows[0])
    cells = [[str(row[k]) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))


def _modules():
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def names():
    """The benchmarks: every module of this package, and the parts a module names in its
    `PARTS` ({part: function returning rows}) as `module.part` (`grading.fixed`), which run
    that part alone."""
    found = []
    for name in _modules():
        found.append(name)
        parts = getattr(importlib.import_module(f"{__name__}.{name}"), "PARTS", {})
        found += [f"{name}.{part}" for part in parts]
    return found


def run_all(selected=()):
    """Run the named benchmarks or parts (default: every benchmark, whole) and print their
    tables."""
    for name in selected or _modules():
        module_name, _, part = name.partition(".")
        module = importlib.import_module(f"{__name__}.{module_name}")
        run = module.PARTS[part] if part else module.run
        print_table(module.TITLE + (f": {part}" if part else ""), run())
