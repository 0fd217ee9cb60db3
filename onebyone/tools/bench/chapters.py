"""Each chapter's execution time: its code cells run top to bottom in a fresh kernel.

This is the time the book build spends on a page whose cached execution is stale (the cache keys
on the page's code and the helper modules it imports, see onebyone/tools/book.py). Kernel
start-up is included, as it is in the build; Sphinx's own work is not (onebyone.tools.bench.book
times the whole build)."""

import resource
import statistics
import time

import nbclient
from myst_nb.core.read import read_myst_markdown_notebook

from onebyone.tools import book

TITLE = "Chapter execution, fresh kernel each run (medians of 3 runs after a warm-up run)"
ROOT = book.ROOT
BUDGET_SECONDS = 20  # each chapter's execution on 2 cores (issue #22)


def executed_chapters(root=ROOT):
    """(docname, path) of every page of the table of contents that has code cells to run."""
    return [(docname, source) for docname, source in book.toc_pages(root)
            if source.suffix == ".md" and "```{code-cell}" in source.read_text(encoding="utf-8")]


def execute(source):
    """Run the page's notebook as the build does: in its own folder, stopping at any error."""
    notebook = read_myst_markdown_notebook(source.read_text(encoding="utf-8"), path=source)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(source.parent)}})
    client.execute()
    return notebook


def _children_cpu_seconds():
    """CPU seconds used so far by this process's finished children (the kernels we ran)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed_execution(source):
    """(wall-clock seconds, kernel CPU seconds) of one execution of the page.

    The CPU time changes little when other programs share the machine, where the wall-clock
    time can grow several-fold: both are reported.
    """
    cpu, started = _children_cpu_seconds(), time.perf_counter()
    execute(source)  # the kernel has exited and been waited for when this returns
    return time.perf_counter() - started, _children_cpu_seconds() - cpu


def run(repeats=3):
    rows = []
    for docname, source in executed_chapters():
        execute(source)                        # warm-up: imports land in the OS cache
        walls, cpus = zip(*(timed_execution(source) for _ in range(repeats)))
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        rows.append({"chapter": docname, "median s": f"{wall:.1f}",
                     "kernel CPU s": f"{cpu:.1f}",
                     f"within {BUDGET_SECONDS} s": "yes" if wall <= BUDGET_SECONDS else "no"})
    return rows
