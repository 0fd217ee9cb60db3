"""Run the benchmarks: every module of onebyone.bench, or the ones named on the command line."""

import importlib
import pkgutil
import sys

import onebyone.bench as bench


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    modules = pkgutil.iter_modules(bench.__path__)
    names = sorted(m.name for m in modules if not m.name.startswith("_"))
    unknown = sorted(set(argv) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}",
              file=sys.stderr)
        return 2
    for name in argv or names:
        module = importlib.import_module(f"onebyone.bench.{name}")
        bench.print_table(module.TITLE, module.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
