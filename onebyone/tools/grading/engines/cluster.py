"""The Dask engine: `onebyone grade --scheduler ADDRESS` grades on the workers of a
dask.distributed cluster (started with `dask scheduler` and `dask worker`, dask-jobqueue or
dask-kubernetes); this process stays the only writer of the gradebook, journal, tables and
feedback.

Each submission is one Dask task carrying its notebook's bytes; the source notebooks go to the
cluster once, as one task's result that Dask copies to each worker (and recomputes if every copy
is lost). A worker that dies mid-run costs nothing: Dask runs its tasks again on another worker,
and the client records each (student, assignment) once, whatever the cluster sends back. What a
worker does with a task is in cluster_worker.py.
"""

import dataclasses
import pathlib
import socket
import uuid
from collections.abc import Callable

from onebyone.tools.grading import course as course_layout
from onebyone.tools.grading import result
from onebyone.tools.grading.engines import cluster_worker
from onebyone.tools.grading.engines.engine import OnResults, deliver
from onebyone.tools.grading.result import Job
from onebyone.tools.grading.sandbox.limits import Limits

CONNECT_SECONDS = 20
WORKER_WAIT_SECONDS = 60  # how long a run waits for a first worker to join the scheduler


class ClusterError(Exception):
    """The cluster cannot grade this run (the message says why, in one line)."""


def _probe(address):
    """Fail at once on a refused TCP address (Dask's client would retry until its timeout)."""
    host_port = address.removeprefix("tcp://")
    if "://" in host_port or ":" not in host_port:
        return
    host, port = host_port.rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS):
        pass


def _client(scheduler):
    from distributed import Client

    where = {"scheduler_file": scheduler} if scheduler.endswith(".json") else {"address": scheduler}
    try:
        if "address" in where:
            _probe(scheduler)
        return Client(**where, timeout=f"{CONNECT_SECONDS}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ClusterError(f"cannot reach the Dask scheduler {scheduler}: {reason}") from None


def _source_payload(course, assignment_ids) -> dict[str, bytes]:
    """{path in the course: bytes} of what the workers need of the course: each source notebook,
    its release and the release's translations (exercises/<id>/<language>/<id>.ipynb)."""
    payload = {}
    for assignment, path in course_layout.source_files(course, assignment_ids).items():
        release = course_layout.release_file(course, assignment)
        for each in (path, release, *sorted(release.parent.glob(f"*/{release.name}"))):
            if each.is_file():
                payload[each.relative_to(course).as_posix()] = each.read_bytes()
    return payload


class DaskEngine:
    """Grading on the cluster whose scheduler is at `scheduler` (an address such as
    tcp://host:8786, or the JSON file `dask scheduler --scheduler-file` writes)."""

    def __init__(self, scheduler: str, course: pathlib.Path, assignment_ids: list[str],
                 limits: Limits):
        self.scheduler = scheduler
        self.limits = limits
        self.fingerprint = result.code_fingerprint()
        self.client = _client(scheduler)
        try:
            self._check_workers()
            self.sources = self.client.submit(
                cluster_worker.keep_sources, _source_payload(course, assignment_ids),
                key=f"onebyone-sources-{uuid.uuid4().hex}", pure=False)
        except BaseException:
            self.client.close()
            raise

    def _check_workers(self):
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except TimeoutError:
            raise ClusterError(f"no Dask worker joined the scheduler {self.scheduler} in "
                               f"{WORKER_WAIT_SECONDS} s: start some with `dask worker "
                               f"{self.scheduler}`") from None
        try:  # every worker: same package code, grader processes starting
            self.threads = sum(self.client.run(cluster_worker.warm_up, self.fingerprint,
                                               self.limits.fence).values())
        except (cluster_worker.WrongVersion, cluster_worker.Unfenced) as error:
            raise ClusterError(str(error)) from None
        except Exception as error:  # e.g. a worker without onebyone cannot even read the call
            raise ClusterError(f"a Dask worker of {self.scheduler} cannot run onebyone's grader "
                               f"({type(error).__name__}: {error}); install onebyone[grade] "
                               "on every worker") from None

    def _submit(self, job, name):
        task = job if job.notebook is None else dataclasses.replace(
            job, notebook=None, data=pathlib.Path(job.notebook).read_bytes())
        return self.client.submit(cluster_worker.grade, task, self.sources, self.limits,
                                  self.fingerprint, pure=False, key=name)

    def grade(self, pending: list[Job], sources: dict, on_results: OnResults,
              meanwhile: Callable[[], None] | None = None) -> None:
        """engine.Engine.grade on the cluster (a task Dask ran twice is recorded once). At most
        a few tasks per worker thread are out at a time, so the notebooks in transit stay few
        whatever the class's size."""
        from distributed import as_completed

        run, queue = uuid.uuid4().hex[:8], list(enumerate(pending))[::-1]
        window = max(16, 4 * self.threads)
        jobs, done = {}, set()
        running = as_completed(loop=self.client.loop)

        def submit_next():
            number, job = queue.pop()
            future = self._submit(job, f"onebyone-grade-{run}-{number}")
            jobs[future.key] = job
            running.add(future)

        while queue and len(jobs) < window:
            submit_next()
        if meanwhile is not None:
            meanwhile()

        def result_of(future):
            job = jobs.pop(future.key)
            if queue:
                submit_next()
            one = self._result(future, job, sources)
            if (one.student, one.assignment) in done:
                return None
            done.add((one.student, one.assignment))
            return one

        # a ClusterError ends the run: what came in before it is kept
        deliver(running.batches(), result_of, on_results)

    @staticmethod
    def _result(future, job, sources):
        """The task's result.Result, or a grader error saying what went wrong."""
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        try:
            return future.result()
        except cluster_worker.WrongVersion as error:
            raise ClusterError(str(error)) from None
        except (KilledWorker, FutureCancelledError) as error:
            note = ("the cluster lost every worker that took this submission "
                    f"({type(error).__name__})")
        except Exception as error:  # a fault of the grader, reported on this row only
            note = f"{type(error).__name__}: {error}"[:500]
        finally:
            future.release()
        return result.Result.grader_error(job, sources, note)

    def close(self) -> None:
        self.client.close()
