"""What runs on a Dask worker (`dask worker ADDRESS`) for `onebyone grade --scheduler`.

A Dask worker needs the installed package, not the course folder: each task brings one submission
(its bytes) and a reference to the source notebooks, which Dask moves to the worker once. The
task hands the submission to a warm grader process of this worker: a Python process started once,
with numpy and torch imported, that asks its student fork server for a fenced student process
per submission exactly as a local worker does (pool.py, sandbox/). It is a separate process, not
the Dask worker itself, because a Dask worker runs tasks in threads (fork() from a threaded
process is unsafe) and as a daemon process (no multiprocessing children). It stops when its Dask
worker goes away (its end of the pipe closes).

A worker refuses work from a client whose package code differs from its own (the code
fingerprint that is part of every result's key): a result must not depend on which machine
graded it.
"""

import atexit
import dataclasses
import functools
import hashlib
import multiprocessing.connection
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid

from onebyone.tools import files
from onebyone.tools.grading import collector_paused, result
from onebyone.tools.grading.sandbox.limits import Limits

_IDLE = []  # grader processes of this Dask worker waiting for work
_LOCK = threading.Lock()


class WrongVersion(Exception):
    """This worker's onebyone differs from the client's."""


class Unfenced(Exception):
    """This worker cannot fence student code in (and the run did not say --no-fence)."""


@functools.cache
def fingerprint():
    return result.code_fingerprint()


def check_version(wanted):
    """Raise WrongVersion, with what to do, unless this worker's package code is `wanted`."""
    mine = fingerprint()
    if mine != wanted:
        raise WrongVersion(
            f"the Dask worker on {socket.gethostname()} runs other onebyone code "
            f"(fingerprint {mine[:12]}) than the client ({wanted[:12]}): install the same "
            "onebyone version on every worker and restart them")


@functools.cache
def _scratch():
    """This worker's folder for source notebooks and submissions in transit: inside the
    worker's own local directory (Dask's --local-directory), removed when the worker stops."""
    from distributed import get_worker

    try:
        base = get_worker().local_directory
    except ValueError:  # not in a Dask worker (a direct call)
        base = None
    folder = tempfile.mkdtemp(prefix="onebyone-", dir=base)
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _sources_folder(sources: dict[str, bytes]) -> str:
    """The course's notebooks {path in the course: bytes} (solutions/ and exercises/) as a course
    folder, written once per set of sources."""
    digest = hashlib.sha256()
    for name, data in sorted(sources.items()):
        for part in (name.encode(), data):
            digest.update(len(part).to_bytes(8, "big") + part)
    digest = digest.hexdigest()[:16]
    folder = pathlib.Path(_scratch()) / f"sources-{digest}"
    if not folder.is_dir():
        try:
            with files.written_whole(folder) as partial:
                for name, data in sources.items():
                    path = partial / name
                    # the payload is the grader's own, but a name must stay inside the folder
                    relative = pathlib.PurePosixPath(name)
                    if relative.is_absolute() or ".." in relative.parts:
                        raise ValueError(f"not a course path: {name}")
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
        except OSError:
            if not folder.is_dir():
                raise
            # another thread of this worker wrote the same sources first: its folder stays
    return str(folder)


class Grader:
    """A warm grader process of this Dask worker, spoken to through a socket pair."""

    def __init__(self, fenced):
        mine, theirs = socket.socketpair()
        self.fenced = fenced
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno()), str(int(fenced))],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self.pipe = multiprocessing.connection.Connection(mine.detach())
        self.ready = False

    def grade(self, request):
        if not self.ready:
            self.pipe.recv()  # "ready": its imports are done
            self.ready = True
        self.pipe.send(request)
        return self.pipe.recv()

    def stop(self):
        self.pipe.close()  # the process sees the end of its input and leaves
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _take_grader(fenced):
    with _LOCK:
        for grader in _IDLE:
            if grader.fenced == fenced:
                _IDLE.remove(grader)
                return grader
    return Grader(fenced)


def warm_up(wanted: str, fenced: bool = True, dask_worker: object = None) -> int:
    """Run once on every worker by the client (`Client.run`): check the version and the fence,
    start one grader process per worker thread (they import in the background). Returns the
    thread count."""
    check_version(wanted)
    if fenced:
        from onebyone.tools.grading.sandbox import fence

        problem = fence.problem()
        if problem:
            raise Unfenced(f"the Dask worker on {socket.gethostname()} cannot fence student "
                           f"code in: {problem}")
    threads = getattr(dask_worker, "nthreads", 1) or 1
    with _LOCK:
        missing = threads - sum(g.fenced == fenced for g in _IDLE)
    for _ in range(max(missing, 0)):
        grader = Grader(fenced)
        with _LOCK:
            _IDLE.append(grader)
    return threads


def keep_sources(sources: dict) -> dict:
    """The task that holds the source notebooks on the cluster (moved to each worker once)."""
    return sources


def grade(job: result.Job, sources: dict, limits: Limits, wanted: str) -> result.Result:
    """The Dask task: grade one submission (`job` carries its notebook's bytes as `data`) in
    a grader process of this worker; returns its result.Result."""
    check_version(wanted)
    folder = _sources_folder(sources)
    notebook = None
    if job.data is not None:
        notebook = pathlib.Path(_scratch()) / f"{uuid.uuid4().hex}.ipynb"
        notebook.write_bytes(job.data)
        job = dataclasses.replace(job, notebook=str(notebook), data=None)
    grader = _take_grader(limits.fence)
    try:
        graded = grader.grade((job, folder, limits))
    except BaseException:
        grader.stop()
        raise
    else:
        with _LOCK:
            _IDLE.append(grader)
    finally:
        if notebook is not None:
            notebook.unlink(missing_ok=True)
    return graded


def _serve(fd, fenced):
    """The grader process: warm up, then grade each request until the worker closes the pipe."""
    pipe = multiprocessing.connection.Connection(fd)
    from onebyone.tools.grading import sandbox

    sandbox.start_server(fenced)  # first: its imports overlap this process's own
    from onebyone.tools.grading.engines import zygote  # the warm-up, done as it is imported

    zygote.warm()
    from onebyone.tools import answers
    from onebyone.tools.grading import course, runner

    pipe.send("ready")
    loaded, held = {}, None
    while True:
        try:
            job, folder, limits = pipe.recv()
        except (EOFError, OSError):
            return
        if folder not in loaded:
            with collector_paused():  # the assignments' own imports, once per folder
                loaded[folder] = course.sources_of(pathlib.Path(folder))
                runner.preload(loaded[folder])
        if held != folder:  # the hidden tests' reference: this run's solutions, not a checkout's
            answers.hold({a: source.cells for a, source in loaded[folder].items()})
            held = folder
        pipe.send(runner.grade_job(job, loaded[folder], limits))


if __name__ == "__main__":  # started by Grader, in its Dask worker's process group
    _serve(int(sys.argv[1]), sys.argv[2] == "1")
