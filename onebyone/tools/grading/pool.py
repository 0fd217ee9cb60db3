"""The local engine (the default): grading workers on this machine, side by side, one submission
at a time each.

The workers warm up (import numpy, torch and IPython: zygote.py) and read the source notebooks
while the main process prepares the gradebook; then, for each submission, a worker forks a
sandboxed child of its own (sandbox.py), so no submission pays for the imports and none can
disturb another. Results come back to the main process, the only writer.

How the workers start depends on their number:
- one: forked from this process, before it imports anything heavy; it warms up on its own.
- two or more (Python 3.11 and newer): forked from a fork server (a zygote) that warms up once,
  while a thread of this process waits for it and the main thread prepares the gradebook. On two
  cores this matters: three processes importing torch at the start of a run (the main process
  and two workers) took 0.9 s longer than two. One worker does not use the server, a new
  interpreter (measured: 0.16 s more for a run of one submission).
"""

import concurrent.futures
import multiprocessing
import multiprocessing.forkserver
import os
import sys
from concurrent.futures.process import BrokenProcessPool

from onebyone.tools.grading import collector_paused, result

_WORKER = {}  # what each worker process grades with (set by _start_worker)
_ZYGOTE = "onebyone.tools.grading.zygote"


def _start_worker(load_sources, limits, hidden):
    from onebyone.tools.grading import zygote

    zygote.warm()  # before any other import; done already in a worker of the warm fork server
    with collector_paused():
        from onebyone.tools.grading import runner

        sources = load_sources()
        runner.preload(sources)
    _WORKER.update(sources=sources, limits=limits, hidden=hidden)


def _started():
    return os.getpid()


def _grade_in_worker(job):
    from onebyone.tools.grading import runner

    return runner.grade_job(job, _WORKER["sources"], _WORKER["limits"], _WORKER["hidden"])


def _worker_died(job, sources):
    source = sources.get(job["assignment"])
    return result.Result(job["student"], job["assignment"], job["key"],
                         result.Status.GRADER_ERROR, items=[],
                         notes=["the grading worker died twice on this submission"],
                         max_score=source.max_score() if source else 0.0)


class LocalPool:
    """`jobs` worker processes on this machine; `load_sources()` gives each its
    {assignment: plan.Source}."""

    def __init__(self, jobs, load_sources, limits, hidden):
        self.jobs = jobs
        self.setup = (load_sources, limits, hidden)
        self.pool = None
        if jobs < 2 or sys.version_info < (3, 11):  # before 3.11, no PYTHONSAFEPATH
            self.context = multiprocessing.get_context("fork")
            self.starting = None
            self._start()
        else:
            self.context = _zygote_context()
            starter = concurrent.futures.ThreadPoolExecutor(max_workers=1)
            self.starting = starter.submit(self._start)  # the main process goes on meanwhile
            starter.shutdown(wait=False)

    def _start(self):
        self.pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.jobs, mp_context=self.context, initializer=_start_worker,
            initargs=self.setup)
        # fork: the first task starts every worker; a fork server: each task submitted while
        # no worker is idle starts one (the first waits until the server is warm)
        for _ in range(1 if self.context.get_start_method() == "fork" else self.jobs):
            self.pool.submit(_started)

    def _started_pool(self):
        if self.starting is not None:
            self.starting.result()  # raises what the start raised
            self.starting = None
        return self.pool

    def grade(self, pending, sources, on_results, meanwhile=None):
        """Grade `pending`; call on_results([result, ...]) here, in the main process, with the
        results that are in (all those that arrived meanwhile, together), and meanwhile() once,
        when every submission has been handed out. If a worker dies (it should not: student
        code runs in its own child), the unfinished ones are retried once in a new pool, then
        recorded as a grader error."""
        attempts = {id(job): 0 for job in pending}
        while pending:
            retry = []
            futures = {self._started_pool().submit(_grade_in_worker, job): job
                       for job in pending}
            if meanwhile is not None:
                meanwhile()
                meanwhile = None
            waiting = set(futures)
            while waiting:
                done, waiting = concurrent.futures.wait(
                    waiting, return_when=concurrent.futures.FIRST_COMPLETED)
                graded = []
                for future in done:
                    job = futures[future]
                    try:
                        graded.append(future.result())
                    except BrokenProcessPool:
                        attempts[id(job)] += 1
                        if attempts[id(job)] < 2:
                            retry.append(job)
                        else:
                            graded.append(_worker_died(job, sources))
                if graded:
                    on_results(graded)
            pending = retry
            if retry:
                self.pool.shutdown(wait=True)
                self._start()

    def close(self):
        """Stop the workers without waiting for them to leave: they exit while the main process
        writes the report (~20 ms each, freeing torch's memory), and Python's exit waits for
        them."""
        if self.starting is not None:
            concurrent.futures.wait([self.starting])
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def _zygote_context():
    """multiprocessing's fork server, started now, to import zygote.py before it forks any
    worker. It is a new interpreter run with `-c`, which puts the current folder first on its
    import path: wherever the grader is run from (a student's folder, say), a file there named
    like a module it imports would run outside the sandbox. PYTHONSAFEPATH leaves it out."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([_ZYGOTE])
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if before is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = before
    return context

