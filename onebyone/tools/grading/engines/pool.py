"""The local engine (the default): grading workers on this machine, side by side, one submission
at a time each.

One process, the hub (hub.py), started inside the fence at the very start of a run, imports
numpy, torch, IPython and the grader once, while the main process reads the course and prepares
the gradebook. Each worker and its student fork server are forked from it, warm: no submission
pays for the imports, and a run of one submission imports torch once, not three times (the
main process's worker, its server, and that server's fresh interpreter did before, on two cores
one after the other: about two seconds of a one-submission run).

The main process sends each worker the source notebooks once, then one submission at a time
(its bytes: the worker, inside the fence, reads no file), and records each result as it arrives
(through engine.deliver, the loop both engines share). A worker that dies (it should not:
student code runs in its own process) is replaced by a new one from the hub; its submission is
graded again once, then recorded as a grader error.
"""

import collections
import dataclasses
import multiprocessing.connection
import pathlib
import pickle
from collections.abc import Callable, Iterator

from onebyone.tools.grading import result
from onebyone.tools.grading.engines.engine import OnResults, deliver
from onebyone.tools.grading.engines.hub import Hub
from onebyone.tools.grading.result import Job
from onebyone.tools.grading.sandbox.limits import Limits

Connection = multiprocessing.connection.Connection
WORKER_DIED = "the grading worker died twice on this submission"


def with_notebook(job: Job) -> Job:
    """The job with its notebook's bytes (`data`): the worker reads no file. A notebook that
    cannot be read is left unread: the worker says why, on its row."""
    if job.notebook is None or job.problem or job.data is not None:
        return job
    try:
        data = pathlib.Path(job.notebook).read_bytes()
    except OSError:
        return job
    return dataclasses.replace(job, data=data)


class LocalPool:
    """`jobs` workers forked from `hub` (started here when not given), which the main process
    starts at once so that its imports overlap the run's own preparation."""

    def __init__(self, jobs: int, limits: Limits, hub: Hub | None = None):
        self.jobs = jobs
        self.limits = limits
        self.hub = hub or Hub(limits.fence)
        for _ in range(jobs):  # forked as soon as the hub is warm
            self.hub.ask_worker()
        self.idle: list[Connection] = []
        self.busy: dict[Connection, Job] = {}
        self.started = 0

    def _worker(self, sources_message: bytes) -> Connection:
        """A new worker from the hub, given the sources."""
        _, sock = self.hub.take_worker()
        self.started += 1
        connection = Connection(sock.detach())
        connection.send_bytes(sources_message)
        return connection

    def grade(self, pending: list[Job], sources: dict, on_results: OnResults,
              meanwhile: Callable[[], None] | None = None) -> None:
        """engine.Engine.grade: meanwhile() is called while the hub warms up, or, when it is
        warm already, once every worker has its first submission."""
        if meanwhile is not None and not self.hub.warm():
            meanwhile()
            meanwhile = None
        sources_message = pickle.dumps(("sources", sources))
        waiting = collections.deque(pending)
        busy = self.busy
        attempts = collections.Counter()
        while len(self.idle) + len(busy) < min(self.jobs, len(pending)):
            self.idle.append(self._worker(sources_message))

        def hand_out():
            while waiting and self.idle:
                worker, job = self.idle.pop(), waiting.popleft()
                busy[worker] = job
                try:
                    worker.send(("job", with_notebook(job), self.limits))
                except OSError:
                    pass  # it died: wait() reports it at once

        def batches() -> Iterator[list]:
            while busy:
                arrived = []
                for worker in multiprocessing.connection.wait(list(busy)):
                    job = busy.pop(worker)
                    try:
                        arrived.append((job, worker.recv()))
                        self.idle.append(worker)
                    except (EOFError, OSError):
                        worker.close()
                        attempts[id(job)] += 1
                        arrived.append((job, None))
                        if attempts[id(job)] < 2:
                            waiting.appendleft(job)
                            self.idle.append(self._worker(sources_message))
                hand_out()  # before the results are recorded: the workers go on meanwhile
                yield arrived

        def result_of(task):
            job, graded = task
            if graded is not None:
                return graded
            if attempts[id(job)] < 2:
                return None  # graded again
            return result.Result.grader_error(job, sources, WORKER_DIED)

        hand_out()
        if meanwhile is not None:  # every worker has its first submission by now
            meanwhile()
        deliver(batches(), result_of, on_results)

    def close(self) -> None:
        """Stop the workers without waiting for them to leave: each leaves when its socket
        closes, after the submission it is grading (fenced, with the hub)."""
        for worker in [*self.idle, *self.busy]:
            worker.close()
        self.idle, self.busy = [], {}
        self.hub.close()
