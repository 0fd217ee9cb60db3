"""Each chapter's execution time: its code cells run top to bottom in a fresh kernel.

This is the time the book build spends on a page whose cached execution is stale (the cache keys
on the page's code and the helper modules it imports, see onebyone/tools/book.py). Kernel
start-up is included, as it is in the build; Sphinx's own work is not (onebyone.tools.bench.book
times the whole build)."""

import time

import nbclient
from myst_nb.core.read import read_myst_markdown_notebook

from onebyone.tools import book
from onebyone.tools.bench import median_seconds

TITLE = "Chapter execution, fresh kernel each run (median of 3 runs)"
ROOT = book.ROOT


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


def run(repeats=3):
    rows = []
    for docname, source in executed_chapters():
        started = time.perf_counter()
        execute(source)                        # the warm-up run: imports land in the OS cache
        first = time.perf_counter() - started
        median = median_seconds(lambda source=source: execute(source), repeats, warmup=0)
        rows.append({"chapter": docname, "first run s": f"{first:.1f}",
                     "median s": f"{median:.1f}"})
    return rows
