"""The student fork server: a fresh interpreter, started inside the fence (fence.py), that
imports numpy, torch, IPython and the course's checks once, then forks a student process per
request. It is run by `child.Server` as `python -I -c ...` with only the socket to its worker, or
forked, warm, from the hub of a local run (engines/hub.py) before that hub forks the worker.

What it ever holds: its imports, the limits and file name of each request, and the socket ends it
hands over. Never a source notebook, a hidden test, a solution, a submission (the student
process reads its own notebook from its own socket, after the fork) or any state of the grader;
so a student's code that searches its own memory (`gc`, `sys.modules`, /proc/self/mem) finds
nothing of anyone else's.

Requests on the control socket (a SOCK_SEQPACKET pair: one JSON document per packet):
  {"op": "start", "limits": {...}, "name": "x.ipynb", "nproc": N} + one descriptor (the
  student's socket) -> {"pid": pid};  {"op": "poll", "pid": pid} -> {"status": int or null};
  {"op": "stop", "pid": pid} -> {"status": int}: the process and everything it started, killed.
"""

import json
import os
import pkgutil
import resource
import shutil
import signal
import socket
import sys
import tempfile
import traceback
from collections.abc import Callable

from onebyone.tools.grading import collector_paused
from onebyone.tools.grading.sandbox import fence
from onebyone.tools.grading.sandbox.limits import Limits

WORK = "/tmp/work"  # a fenced student's working folder, on its own tmpfs


def warm_up() -> None:
    """The imports every student process would otherwise pay for, done once here."""
    import importlib

    import torch

    import onebyone.checks as checks
    from onebyone.tools.grading import agent

    # torch's thread pool does not survive fork(): with one thread it is never started
    torch.set_num_threads(1)
    agent.warm_up()
    for module in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"onebyone.checks.{module.name}")
    fence._libc()


def _set_limits(limits, nproc):
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    if nproc:  # a fork bomb stops here (threads count as processes; torch runs with one)
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _quiet_stdio():
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.stdin = sys.__stdin__ = open(0, closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", closefd=False)


def _mirror(status):
    """End this process the way the student's process ended (its parent reads that status)."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os.kill(os.getpid(), signal.SIGKILL)  # a signal that did not end this process
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _student(sock, request, fenced, folder):
    """In the forked process: fence this process in, take the notebook, serve the grader."""
    from onebyone.tools.grading import agent, wire

    limits = Limits(**request["limits"])
    limited = serving = False
    try:
        os.setsid()
        keep = sock.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, 65536)
        _quiet_stdio()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if fenced:
            fence.own_namespaces(tmp_mb=max(limits.file_mb * 4, 64))
            pid = os.fork()
            if pid:  # stays outside the new pid namespace: ends as the student's process did
                sock.close()
                _mirror(os.waitpid(pid, 0)[1])
            # pid 1 of its own namespace: its end ends everything it started
            fence.die_with_parent(signal.SIGKILL)
            fence.drop_privileges()
            fence.dumpable()
            folder = WORK
            os.mkdir(folder, 0o700)
        _set_limits(limits, request.get("nproc"))
        limited = True
        document, blob = wire.receive(sock, limits.message_mb << 20)
        if document.get("op") != "notebook":
            raise RuntimeError("expected the notebook first")
        name = os.path.basename(str(document.get("name", ""))) or "notebook.ipynb"
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(blob)
        os.environ.clear()
        os.environ.update(fence.ENVIRONMENT, HOME=folder, TMPDIR=folder)
        tempfile.tempdir = folder
        os.chdir(folder)
        sys.setprofile(None)
        sys.settrace(None)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        server = agent.Agent(sock, limits.message_mb << 20)
        serving = True
        server.serve()
        code = 0
    except BaseException as error:  # say why this process stops, then stop
        code = 1
        # under the memory cap, starting the shell itself may fail: that is the cap's doing
        memory = limited and isinstance(error, (MemoryError, SystemError, ImportError))
        try:
            wire.send(sock, {"fatal": f"{type(error).__name__}: {error}"[:500],
                             "memory": memory, "student": serving})
        except BaseException:
            pass
    os._exit(code)


class _Server:
    def __init__(self, control, fenced):
        self.control = control
        self.fenced = fenced
        self.children = {}  # pid -> its folder outside the fence (None when fenced)
        self.statuses = {}

    def start(self, request, fds):
        sock = socket.socket(fileno=fds[0])
        folder = None if self.fenced else tempfile.mkdtemp(prefix="onebyone-grade-")
        pid = os.fork()
        if pid == 0:
            try:
                self.control.close()
                _student(sock, request, self.fenced, folder)
            finally:
                os._exit(1)
        sock.close()
        self.children[pid] = folder
        return {"pid": pid}

    def _reaped(self, pid, status):
        self.statuses[pid] = status
        folder = self.children.pop(pid, None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)

    def poll(self, pid):
        if pid in self.statuses:
            return {"status": self.statuses[pid]}
        if pid not in self.children:
            return {"status": None, "unknown": True}
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            self._reaped(pid, status)
            return {"status": status}
        return {"status": None}

    def stop(self, pid):
        if pid in self.children:
            for kill in (os.killpg, os.kill):  # unfenced, its session; fenced, its namespace
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self._reaped(pid, os.waitpid(pid, 0)[1])
        return {"status": self.statuses.pop(pid, None)}

    def serve(self):
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 1)
            except (OSError, EOFError):
                break
            if not data:
                break
            try:
                request = json.loads(data)
                op = request["op"]
                if op == "start":
                    reply = self.start(request, fds)
                else:
                    for fd in fds:
                        os.close(fd)
                    reply = self.poll(request["pid"]) if op == "poll" else \
                        self.stop(request["pid"])
            except Exception as error:
                reply = {"error": f"{type(error).__name__}: {error}"[:500]}
            self.control.send(json.dumps(reply).encode())
        for pid in list(self.children):  # the worker is gone: so are its students
            self.stop(pid)


def main(fd, fenced):
    """Run the server on the control socket `fd` (never returns normally)."""
    control = socket.socket(fileno=fd)
    warm_and_report(control, fenced, warm_up)
    _Server(control, fenced).serve()


def warm_and_report(control: socket.socket, fenced: bool, warm: Callable[[], None]) -> None:
    """A fresh warm process's start (this server's, the hub's): deaf to the grader's Ctrl-C (the
    grader's to handle), not dumpable when fenced (inherited by all it forks), `warm()` with the
    collector paused, then "ready" on `control`, or the error, said there and raised."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if fenced:
            fence.not_dumpable()
        with collector_paused():
            warm()
        control.send(b'{"ready": true}')
    except BaseException as error:
        message = {"error": f"{type(error).__name__}: {error}",
                   "where": traceback.format_exc(limit=2)[-800:]}
        control.send(json.dumps(message).encode())
        raise


def serve(control: socket.socket, fenced: bool) -> None:
    """Run a server forked from a warm process (engines/hub.py) that has never held a secret."""
    control.send(b'{"ready": true}')
    _Server(control, fenced).serve()
