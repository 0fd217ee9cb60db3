"""A Dask cluster on this machine, started with Dask's own commands (`dask scheduler`,
`dask worker`): for trying `onebyone grade --scheduler` out, the benchmarks and the tests. Not
part of the grader: a real cluster is started by its administrator (dask-jobqueue,
dask-kubernetes, or the same two commands on other machines)."""

import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import time


def _dask(*arguments):
    """Dask's own command line (`dask scheduler`, `dask worker`) of this environment."""
    return [str(pathlib.Path(sys.executable).parent / "dask"), *arguments]


def _stop(process):
    """Stop a process started by local_cluster and everything in its session."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # what it left behind, if anything
    process.wait()


class LocalCluster:
    """A Dask cluster on this machine, started with Dask's own commands: a scheduler on
    127.0.0.1 and `workers` workers of one thread each (each in its own session, so one can be
    killed whole, as a lost machine). For trying the engine out, the tests and the bench."""

    def __init__(self, folder, workers=2, timeout=120):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = str(self.folder / "scheduler.json")
        self.processes, self.workers = [], []
        try:
            self._start(workers, timeout)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, command, name):
        log = open(self.folder / f"{name}.log", "wb")
        with log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       cwd=self.folder)
        self.processes.append(process)
        return process

    def _start(self, workers, timeout):
        self._spawn(_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                          "--scheduler-file", self.scheduler_file), "scheduler")
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.scheduler_file):
            if time.monotonic() > deadline or self.processes[0].poll() is not None:
                raise RuntimeError(f"the Dask scheduler did not start: see {self.folder}")
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written in one go, but give it a moment
        self.address = json.loads(pathlib.Path(self.scheduler_file).read_text())["address"]
        for i in range(workers):
            self.add_worker(f"worker-{i}")
        from distributed import Client

        with Client(self.address, timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=max(deadline - time.monotonic(), 1))

    def add_worker(self, name):
        scratch = self.folder / name
        process = self._spawn(_dask("worker", self.address, "--nthreads", "1", "--nworkers", "1",
                                    "--host", "127.0.0.1", "--no-dashboard", "--name", name,
                                    "--local-directory", str(scratch)), name)
        self.workers.append(process)
        return process

    def kill_worker(self, process):
        """Kill a worker at once, with its nanny and grader processes, like a lost machine."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self):
        for process in reversed(self.processes):
            _stop(process)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
