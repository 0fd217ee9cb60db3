"""The local engine (the default): grading workers on this machine, side by side, one submission
at a time each.

The workers warm up (import numpy and torch: zygote.py), start their student fork server
(sandbox/) and read the source notebooks while the main process prepares the gradebook; then, for
each submission, a worker asks its server for a fenced student process, so no submission pays
for the imports and none can disturb another or see a source. Results come back to the main
process, the only writer (through engine.deliver, the loop both engines share).

How the workers start depends on their number:
- one: forked from this process, before it imports anything heavy; it warms up on its own.
- two or more (Python 3.11 and newer): forked from a fork server (a zygote) that warms up once,
  while a thread of this process waits for it and the main thread prepares the gradebook. On two
  cores this matters: three processes importing torch at the start of a run (the main process
  and two workers) took 0.9 s longer than two. One worker does not use the server, a new
  interpreter (measured: 0.16 s more for a run of one submission).
"""

import concurrent.futures
import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import queue
import sys
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool

from onebyone.tools.grading import SAFE_PATH_SET_HERE, collector_paused, result
from onebyone.tools.grading.engine import OnResults, deliver
from onebyone.tools.grading.result import Job
from onebyone.tools.grading.sandbox.limits import Limits

_WORKER = {}  # what each worker process grades with (set by _start_worker)
_ZYGOTE = "onebyone.tools.grading.zygote"


def _start_worker(load_sources, limits):
    from onebyone.tools.grading import sandbox

    # first: the student fork server imports in its own process while this one goes on
    sandbox.start_server(limits.fence)
    from onebyone.tools.grading import zygote

    zygote.warm()  # before any other import; done already in a worker of the warm fork server
    with collector_paused():
        from onebyone.tools.grading import runner

        sources = load_sources()
        runner.preload(sources)
    _WORKER.update(sources=sources, limits=limits)


def _started():
    return os.getpid()


def _grade_in_worker(job):
    from onebyone.tools.grading import runner

    return runner.grade_job(job, _WORKER["sources"], _WORKER["limits"])


def _batches(arrived, count):
    """Lists of the `count` futures put in `arrived` as they finish: each list all those that
    are in, waiting only when none is."""
    while count:
        done = [arrived.get()]
        with contextlib.suppress(queue.Empty):
            while True:
                done.append(arrived.get_nowait())
        count -= len(done)
        yield done


class LocalPool:
    """`jobs` worker processes on this machine; `load_sources()` gives each its
    {assignment: course.Source}."""

    def __init__(self, jobs: int, load_sources: Callable[[], dict], limits: Limits):
        self.jobs = jobs
        self.setup = (load_sources, limits)
        self.pool = None
        # PYTHONSAFEPATH (below) is new in Python 3.11, and ignored by an interpreter run with -E
        if jobs < 2 or sys.version_info < (3, 11) or sys.flags.ignore_environment:
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

    def grade(self, pending: list[Job], sources: dict, on_results: OnResults,
              meanwhile: Callable[[], None] | None = None) -> None:
        """engine.Engine.grade, meanwhile() called when every submission has been handed out.
        If a worker dies (it should not: student code runs in its own process), the unfinished
        ones are retried once in a new pool, then recorded as a grader error."""
        attempts = {id(job): 0 for job in pending}
        while pending:
            retry = []
            arrived = queue.SimpleQueue()  # futures as they finish (O(1) each, unlike wait())
            futures = {}
            for job in pending:
                future = self._started_pool().submit(_grade_in_worker, job)
                futures[future] = job
                future.add_done_callback(arrived.put)
            if meanwhile is not None:
                meanwhile()
                meanwhile = None

            def result_of(future, futures=futures, retry=retry):  # this round's
                job = futures[future]
                try:
                    return future.result()
                except BrokenProcessPool:
                    attempts[id(job)] += 1
                    if attempts[id(job)] < 2:
                        retry.append(job)
                        return None
                    note = "the grading worker died twice on this submission"
                except Exception as error:  # a fault of the grader, on this row only
                    note = f"{type(error).__name__}: {error}"[:500]
                return result.Result.grader_error(job, sources, note)

            deliver(_batches(arrived, len(futures)), result_of, on_results)
            pending = retry
            if retry:
                self.pool.shutdown(wait=True)
                if self.context.get_start_method() == "forkserver":
                    _start_fork_server()  # again, should it have died too
                self._start()

    def close(self) -> None:
        """Stop the workers without waiting for them to leave: they exit while the main process
        writes the report (~20 ms each, freeing torch's memory), and Python's exit waits for
        them. A pool still starting is stopped once started, without holding up the caller."""
        if self.starting is not None:
            self.starting.add_done_callback(lambda _: self._stop())
        else:
            self._stop()

    def _stop(self):
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def _zygote_context():
    """multiprocessing's fork server, started now, set to import zygote.py before it forks any
    worker."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([_ZYGOTE])
    _start_fork_server()
    return context


def _start_fork_server():
    """Start multiprocessing's fork server unless it runs. It is a new interpreter run with
    `-c`, which puts the current folder first on its import path: wherever the grader is run
    from (a student's folder, say), a file there named like a module it imports would run
    outside the sandbox. PYTHONSAFEPATH leaves the folder out; zygote.py removes it again, so
    workers and student processes see the environment the grader was given."""
    if os.environ.get("PYTHONSAFEPATH"):  # set by the user: leave it as it is
        multiprocessing.forkserver.ensure_running()
        return
    os.environ.update({"PYTHONSAFEPATH": "1", SAFE_PATH_SET_HERE: "1"})
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        for name in ("PYTHONSAFEPATH", SAFE_PATH_SET_HERE):
            os.environ.pop(name, None)
