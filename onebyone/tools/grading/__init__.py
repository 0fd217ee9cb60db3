"""`onebyone grade`: grade a class's notebooks, in parallel, without trusting the students' code.

Read from the top down (each module imports only modules below it; tests/test_layering.py checks
there is no import circle):
- batch.py        the whole class: finds the submissions, starts an engine, records each result
                  as it arrives (the main process is the only writer), restartable;
- engines/        how submissions reach warm workers (engine.py, the interface and the loop
                  both engines share): pool.py, the local engine, worker processes on this
                  machine (`--jobs`) forked warm, with their student fork servers, from one hub
                  started first inside the fence (hub.py), worker.py a local worker's loop
                  (sources and submissions arrive over its socket); cluster.py, the Dask engine
                  (`--scheduler`), cluster_worker.py its side on each worker, whose grader
                  process is warmed by zygote.py;
- runner.py       grade one submission in a worker: the student's cells in a student process,
                  each test cell in the worker, a stand-in (remote.py) for each student's name;
- sandbox/        where student code runs and what it reaches: a student fork server that never
                  holds a secret (server.py), started inside an allow-list fence needing no root
                  (fence.py: bubblewrap and user namespaces), the worker's handle (child.py) and
                  the limits (limits.py);
- agent.py        the loop in a student process: runs the cells, answers the grader's requests;
- wire.py         what crosses the pipe: plain values and arrays, never a pickle from students;
- static.py       the grader's own reading of the student's source (torch / onebyone use);
- plan.py         a submission rebuilt from the instructor's source notebook (which cell runs
                  where); course.py the course layout, the source notebooks and nbgrader's cell
                  metadata, read in one place;
- language.py     a submission's language (the release its read-only cells match), the checks
                  speaking it while it is graded; wording.py the grader's own words in it
                  (notes, the feedback page: the gettext catalogue onebyone-grader);
- store/          what a run keeps, written by the main process alone: records.py (journal,
                  feedback pages, CSV tables), gradebook.py (the nbgrader gradebook made ready
                  and written as nbgrader's autograde writes it);
- outputs/        what the instructor and the students read: feedback.py, outline.py,
                  pages.py, progress.py, report.py and its chart (chart.py);
- submissions.py  nbgrader's submitted layout, in a folder or a safe zip; result.py the typed
                  values that cross modules (Job, Result, Status).
"""

import contextlib
import gc
import importlib.util
import sys
from collections.abc import Iterator


def _nbgrader_without_its_server_extensions():
    """Make `import nbgrader.api` (and .utils, .preprocessors) skip nbgrader's package __init__,
    which loads its Jupyter server extensions (jupyter_server, the exchange, the formgrader's
    web handlers): measured, the largest import of a grading run, in the main process and in
    every worker, for code a run never calls. The package is registered bare, with its
    version; its modules load from its folder as usual. A process that imported nbgrader
    already keeps it as it is."""
    if "nbgrader" in sys.modules:
        return
    spec = importlib.util.find_spec("nbgrader")
    if spec is None or not spec.submodule_search_locations:
        return
    package = importlib.util.module_from_spec(spec)  # not executed: no server extensions
    sys.modules["nbgrader"] = package
    package.__version__ = importlib.import_module("nbgrader._version").__version__


_nbgrader_without_its_server_extensions()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Run a process's imports and warm-up with the garbage collector paused, then freeze what
    they made. Imports create hundreds of thousands of objects that live as long as the
    process; every collection that triggers meanwhile walks them all again (measured: importing
    numpy and torch takes about a tenth less time without it). Frozen, they are never walked
    again, and a forked child does not copy their memory pages when its own collector runs."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
