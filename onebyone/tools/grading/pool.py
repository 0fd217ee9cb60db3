"""The local engine (the default): grading workers forked from this process, side by side on this
machine, one submission at a time each.

The workers are forked before the main process imports anything heavy. Each imports numpy, torch
and IPython and reads the source notebooks while the main process prepares the gradebook; then,
for each submission, it forks a sandboxed child of its own (sandbox.py), so no submission pays for
the imports and none can disturb another. Results come back to the main process, the only writer.
"""

import concurrent.futures
import multiprocessing
import os
from concurrent.futures.process import BrokenProcessPool

from onebyone.tools.grading import collector_paused, result

_WORKER = {}  # what each worker process grades with (set by _start_worker)


def _start_worker(load_sources, limits, hidden):
    with collector_paused():
        from onebyone.tools.grading import runner, sandbox

        sandbox.warm_up()
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
        self.pool = self._start()

    def _start(self):
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.jobs, mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker, initargs=self.setup)
        pool.submit(_started)  # with fork, the first task starts every worker: they warm up now
        return pool

    def grade(self, pending, sources, on_result, meanwhile=None):
        """Grade `pending`; call on_result(result) here, in the main process, for each, and
        meanwhile() once, when every submission has been handed out. If a worker dies (it
        should not: student code runs in its own child), the unfinished ones are retried once
        in a new pool, then recorded as a grader error."""
        attempts = {id(job): 0 for job in pending}
        while pending:
            retry = []
            futures = {self.pool.submit(_grade_in_worker, job): job for job in pending}
            if meanwhile is not None:
                meanwhile()
                meanwhile = None
            for future in concurrent.futures.as_completed(futures):
                job = futures[future]
                try:
                    on_result(future.result())
                except BrokenProcessPool:
                    attempts[id(job)] += 1
                    if attempts[id(job)] < 2:
                        retry.append(job)
                    else:
                        on_result(_worker_died(job, sources))
            pending = retry
            if retry:
                self.pool.shutdown(wait=True)
                self.pool = self._start()

    def close(self):
        """Stop the workers without waiting for them to leave: they exit while the main process
        writes the report (~20 ms each, freeing torch's memory), and Python's exit waits for
        them."""
        self.pool.shutdown(wait=False, cancel_futures=True)
