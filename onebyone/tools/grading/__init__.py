"""`onebyone grade`: grade a class's notebooks, in parallel, without trusting the students' code.

One idea per module:
- submissions.py  find `<student>/<assignment>/<assignment>.ipynb` (folder or safe zip);
- plan.py         rebuild each submission from the instructor's source notebook: which cells
                  run where (the student's cells in the sandbox, the test cells in the grader);
- sandbox.py      a forked, fenced-in process per submission (namespaces, uid, limits);
- agent.py        the loop in that process: runs the student's cells, answers requests;
- wire.py         what crosses the pipe: plain values and arrays, never a pickle from students;
- remote.py       the grader's stand-ins for the student's functions and objects;
- static.py       the grader's own reading of the student's source (torch / onebyone use);
- runner.py       grade one submission: run its plan, score each test cell;
- records.py      gradebook, journal, feedback pages and CSV tables (main process only);
- gradebook.py    the nbgrader gradebook made ready (tables, stamp, cells), safe to share,
                  and the scores written as nbgrader's autograde writes them;
- feedback.py     the feedback page; progress.py the progress bar;
- batch.py        the whole class: hands it to an engine, records the results, restartable;
- pool.py         the local engine: worker processes on this machine (`--jobs`);
- zygote.py       a worker's warm-up (imports), done once for all local workers;
- cluster.py      the Dask engine (`--scheduler`); cluster_worker.py its side on each worker.
"""

import contextlib
import gc
import importlib.util
import sys

# pool.py sets it for the fork server it starts; zygote.py takes PYTHONSAFEPATH away again
SAFE_PATH_SET_HERE = "ONEBYONE_SAFE_PATH_SET_BY_POOL"


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
def collector_paused():
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
