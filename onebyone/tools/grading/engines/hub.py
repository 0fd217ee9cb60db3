"""The one warm process of a local run (pool.py): numpy, torch, IPython and the grader imported
once, inside the fence, and every grading worker and student fork server forked from it.

Why: a run of one submission used to start three interpreters that each imported torch (the
main process's worker, its student fork server, and that server's own fresh interpreter); on two
cores the imports, not the grading, set the run's length. Here one process imports, started
first, while the main process reads the course and prepares the gradebook.

What each process holds:
- the hub (this module's `main`): its imports and nothing else. It never reads a source, a
  submission or the grader's state; a request says only "one more worker" and a process limit;
- per worker, a student fork server (server.py), forked from the hub before the worker, so it
  never holds what the worker will receive;
- the grading worker (worker.py), forked from the hub after its server: it receives the source
  notebooks and each submission over its socket from the main process (it is inside the fence:
  it reads nothing from the disk), and asks its server for a fenced student process per
  submission, as before.
Student processes live in pid and mount namespaces of their own (fence.own_namespaces): they
cannot name, trace or read the worker, which is not dumpable either.

Control socket (SOCK_SEQPACKET, one JSON document per packet): the hub sends {"ready": true}
once warm (or {"error": ...}); then {"op": "worker", "nproc": N} -> {"pid": worker's pid} with
one descriptor, the main process's end of the worker's socket. The hub's end closing ends it.
"""

import json
import os
import socket
import subprocess
import tempfile

from onebyone.tools.grading.sandbox import fence


class HubError(Exception):
    """The hub could not start or stopped answering (the message says why)."""


class Hub:
    """The main process's handle on its hub: started at once, warm later."""

    def __init__(self, fenced: bool):
        self.fenced = fenced
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.errors = tempfile.TemporaryFile()
        self.process = fence.start_main("onebyone.tools.grading.engines.hub", theirs.fileno(),
                                        fenced, self.errors)
        theirs.close()
        self.ready = False
        self.asked = 0  # workers asked for whose reply is not read yet

    def uid(self) -> int:
        """The uid the hub and its processes run as (what RLIMIT_NPROC counts)."""
        return fence.sandbox_uid() if self.fenced else os.getuid()

    def ask_worker(self) -> None:
        """Ask for one more worker; `take_worker()` returns it once the hub is warm."""
        from onebyone.tools.grading.sandbox.child import NPROC_SPARE, processes_of

        uid = self.uid()
        nproc = None if uid == 0 else processes_of(uid) + NPROC_SPARE
        try:
            self.control.send(json.dumps({"op": "worker", "nproc": nproc}).encode())
        except OSError as error:
            raise HubError(f"the grading hub stopped: {error}: {self._stderr()}") from None
        self.asked += 1

    def warm(self) -> bool:
        """Whether the hub has said it is ready (without waiting for it)."""
        if not self.ready:
            self.control.setblocking(False)
            try:
                self._read_ready()
            except BlockingIOError:
                pass
            finally:
                self.control.setblocking(True)
        return self.ready

    def take_worker(self) -> tuple[int, socket.socket]:
        """(pid, the main process's socket to it) of a worker asked for (waits for the hub)."""
        if not self.asked:
            self.ask_worker()
        try:
            if not self.ready:
                self._read_ready()
            message, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 1)
        except OSError as error:
            raise HubError(f"the grading hub stopped: {error}: {self._stderr()}") from None
        self.asked -= 1
        if not message:
            raise HubError(f"the grading hub stopped: {self._stderr()}")
        reply = json.loads(message)
        if "error" in reply or not fds:
            for fd in fds:
                os.close(fd)
            raise HubError(f"the grading hub: {reply.get('error', 'no worker socket')}")
        return reply["pid"], socket.socket(fileno=fds[0])

    def _read_ready(self):
        message = self.control.recv(1 << 16)
        if not message:
            raise HubError(f"the grading hub did not start: {self._stderr()}")
        reply = json.loads(message)
        if "error" in reply:
            raise HubError(f"the grading hub did not start: {reply['error']}")
        self.ready = True

    def _stderr(self):
        self.errors.seek(0)
        lines = self.errors.read().decode(errors="replace").strip().splitlines()
        return lines[-1][:300] if lines else f"exit code {self.process.poll()}"

    def close(self, wait: float = 0.0) -> None:
        """End the hub: each worker leaves when its socket closes, after the submission it is
        grading, and the hub once they all have (fenced, the fence ends with the hub). `wait`:
        seconds to wait for that (then it is killed), so the run's processes are all waited
        for (and their CPU time counted in this process's children's)."""
        self.control.close()
        if wait and not self.ready:  # never used: its imports are not worth waiting for
            self.process.kill()
            self.process.wait()
        elif wait:
            try:
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def warm_up() -> None:
    """What every worker and every student process would otherwise import: done once here."""
    import torch  # noqa: F401

    from onebyone.tools.grading import runner  # noqa: F401  (the worker's code)
    from onebyone.tools.grading.engines import worker  # noqa: F401
    from onebyone.tools.grading.sandbox import server

    server.warm_up()  # numpy, torch (one thread), IPython, the course's checks


def _close(*socks):
    for sock in socks:
        sock.close()


def _fork_pair(control, fenced, nproc):
    """Fork a student fork server, then the worker that uses it; returns (worker pid, the
    main process's end of the worker's socket)."""
    from onebyone.tools.grading.engines import worker
    from onebyone.tools.grading.sandbox import server

    server_side, worker_side = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    main_end, worker_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the student fork server: forked first, it never sees the worker's data
        try:
            _close(control, worker_side, main_end, worker_end)
            server.serve(server_side, fenced)
        finally:
            os._exit(0)
    server_side.close()
    pid = os.fork()
    if pid == 0:  # the grading worker
        code = 1
        try:
            _close(control, main_end)
            code = worker.serve(worker_end, worker_side, fenced, nproc)
        finally:
            os._exit(code)
    _close(worker_side, worker_end)
    return pid, main_end


def main(fd: int, fenced: bool) -> None:
    """Run the hub on the control socket `fd` until the main process closes it."""
    from onebyone.tools.grading.sandbox import server

    control = socket.socket(fileno=fd)
    server.warm_and_report(control, fenced, warm_up)  # not dumpable: nor is all it forks
    while True:
        _reap()
        try:
            message = control.recv(1 << 16)
        except OSError:
            break
        if not message:
            break
        try:
            request = json.loads(message)
            if request.get("op") != "worker":
                raise ValueError(f"unknown request {request.get('op')!r}")
            pid, main_end = _fork_pair(control, fenced, request.get("nproc"))
        except Exception as error:
            control.send(json.dumps({"error": f"{type(error).__name__}: {error}"[:500]}).encode())
            continue
        try:
            socket.send_fds(control, [json.dumps({"pid": pid}).encode()], [main_end.fileno()])
        finally:
            main_end.close()
    while _reap(block=True):  # the workers leave when the main process closes their sockets
        pass
    os._exit(0)


def _reap(block: bool = False) -> bool:
    """Wait for the children that ended (or, with `block`, for one); False when none is left."""
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0 or block:
            return True
