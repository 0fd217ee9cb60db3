"""Run the book's executed pages side by side, before Sphinx reads them.

MyST-NB (execution mode "cache") runs a page's notebook when Sphinx reads that page, one page
after the other. Sphinx's own parallel reading does not help: it hands out pages in sorted
chunks, so every chapter lands in the same process. jupyter-cache, which keeps MyST-NB's
executions, has a parallel executor: the pages without a cached execution are staged in its
project and run over a pool of processes, one per core. Sphinx then finds every page cached and
runs nothing. A page that fails here is left uncached, so Sphinx runs it again and reports the
error in the strict build's own words.
"""

import logging
import os
import pathlib
import sys
import time

# How MyST-NB reads a page into a notebook: the same cells, so the same cache key.
READERS = {".md": {"name": "myst_nb_md", "type": "plugin"},
           ".ipynb": {"name": "nbformat", "type": "plugin"}}


def is_executed(source, exclude_patterns=()):
    """Whether MyST-NB executes the page at `source`: a notebook (MyST markdown with a
    kernelspec, or .ipynb) with code cells, outside execute.exclude_patterns (paths relative to
    the book's root, e.g. exercises/*/*.ipynb)."""
    source = pathlib.Path(source)
    if any(source.match(pattern) for pattern in exclude_patterns):
        return False
    if source.suffix == ".ipynb":
        return True
    text = source.read_text(encoding="utf-8")
    front = text.split("\n---", 1)[0] if text.startswith("---") else ""
    return "kernelspec:" in front and "```{code-cell}" in text


def execute(cache_folder, sources, timeout, stream=sys.stdout):
    """Execute the pages among `sources` that have no cached execution in `cache_folder`, in
    parallel; returns the pages that did not run cleanly (Sphinx runs those itself)."""
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache = get_cache(str(cache_folder))
    uris = []
    for source in sources:
        source = pathlib.Path(source).resolve()
        record = cache.add_nb_to_project(str(source), read_data=READERS[source.suffix])
        uris.append(record.uri)
    stale = cache.list_unexecuted(filter_uris=uris)
    if not stale:
        return []
    processes = min(len(stale), os.cpu_count() or 1)
    stream.write(f"Executing {len(stale)} page(s) on {processes} process(es) before Sphinx "
                 "reads them…\n")
    stream.flush()
    # The pool's workers log at this level: a failing page is told by Sphinx, not twice.
    quiet = logging.getLogger("onebyone.parallel_pages")
    quiet.setLevel(logging.ERROR)
    start = time.perf_counter()
    done = load_executor("local-parallel", cache, logger=quiet).run_and_cache(
        filter_uris=[record.uri for record in stale], timeout=timeout, allow_errors=False)
    failed = sorted(done.excepted + done.errored)
    stream.write(f"Executed {len(done.succeeded)} page(s) in {time.perf_counter() - start:.1f} s"
                 + (f"; {len(failed)} failed and run again by Sphinx" if failed else "") + ".\n")
    return failed
