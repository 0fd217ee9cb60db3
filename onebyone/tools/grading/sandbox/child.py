"""The grading worker's side of the sandbox: its student fork server, and a handle on each
student process (`Child`), which the runner talks to through `Child.sock`.

One server per grading worker. A Dask grader process starts its own when it starts, so its
imports overlap the grader's own, and starts it again for the next child should it die. A local
worker is forked from the hub (engines/hub.py) with its server, forked just before it: it is
attached to that one (`attach`).
"""

import dataclasses
import json
import os
import pathlib
import socket
import tempfile

from onebyone.tools.grading.sandbox import fence
from onebyone.tools.grading.sandbox.limits import Limits

NPROC_SPARE = 64  # processes (threads count) a student may add to what its uid already runs
_SERVERS = {}  # fenced -> this worker's Server


class ServerError(Exception):
    """The student fork server could not start or stopped answering."""


def processes_of(uid: int) -> int:
    """How many processes (threads counted) this uid runs now: RLIMIT_NPROC counts them all."""
    count = 0
    for status in pathlib.Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines()
                          if line.startswith(("Uid", "Threads")))
        except (OSError, ValueError):
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            count += int(fields.get("Threads", "1"))
    return count


class Server:
    """A student fork server (server.py), fenced in unless `fenced` is False."""

    def __init__(self, fenced):
        self.fenced = fenced
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.errors = tempfile.TemporaryFile()
        # RLIMIT_NPROC counts every process and thread of the uid: fenced by root, that uid runs
        # the sandbox only (root itself is never held to the limit)
        uid = fence.sandbox_uid() if fenced else os.getuid()
        self.nproc = None if uid == 0 else processes_of(uid) + NPROC_SPARE
        self.process = fence.start_main("onebyone.tools.grading.sandbox.server", theirs.fileno(),
                                        fenced, self.errors)
        theirs.close()
        self.ready = False

    def _ask(self, request, fd=None):
        try:
            if fd is None:
                self.control.send(json.dumps(request).encode())
            else:
                socket.send_fds(self.control, [json.dumps(request).encode()], [fd])
            if not self.ready:
                self._wait_ready()
            reply = self.control.recv(1 << 16)
        except OSError as error:
            raise ServerError(f"the student fork server stopped: {error}") from None
        if not reply:
            raise ServerError(f"the student fork server stopped: {self._stderr()}")
        reply = json.loads(reply)
        if "error" in reply:
            raise ServerError(f"the student fork server: {reply['error']}")
        return reply

    def _stderr(self):
        if self.errors is None:
            return "it was forked by the hub"
        self.errors.seek(0)
        lines = self.errors.read().decode(errors="replace").strip().splitlines()
        return lines[-1][:300] if lines else f"exit code {self.process.poll()}"

    def _wait_ready(self):
        reply = self.control.recv(1 << 16)
        if not reply:
            raise ServerError(f"the student fork server did not start: {self._stderr()}")
        reply = json.loads(reply)
        if "error" in reply:
            raise ServerError(f"the student fork server did not start: {reply['error']}")
        self.ready = True

    @classmethod
    def attached(cls, control: socket.socket, fenced: bool, nproc: int | None) -> "Server":
        """A server that was forked beside this worker (engines/hub.py): `control` is its socket."""
        server = cls.__new__(cls)
        server.fenced, server.control, server.nproc = fenced, control, nproc
        server.process, server.errors, server.ready = None, None, False
        return server

    def start(self, sock, limits, name):
        request = {"op": "start", "limits": dataclasses.asdict(limits), "name": name,
                   "nproc": self.nproc}
        return self._ask(request, sock.fileno())["pid"]

    def poll(self, pid):
        return self._ask({"op": "poll", "pid": pid})["status"]

    def stop(self, pid):
        return self._ask({"op": "stop", "pid": pid})["status"]

    def alive(self):
        return self.process is None or self.process.poll() is None  # attached: not ours to start


def attach(control: socket.socket, fenced: bool, nproc: int | None) -> None:
    """This worker's student fork server is the one forked beside it (engines/hub.py)."""
    _SERVERS[fenced] = Server.attached(control, fenced, nproc)


def start_server(fenced: bool = True) -> Server:
    """This worker's student fork server (started now, its imports running in the background).
    A worker calls it before its own imports, so this module imports neither numpy nor torch
    (wire.py does, loaded by Child): measured, importing them first held the server's start
    back by the whole of the worker's torch import (1.5 s idle, 9 s under load)."""
    server = _SERVERS.get(fenced)
    if server is None or not server.alive():
        server = _SERVERS[fenced] = Server(fenced)
    return server


class Child:
    """One student process holding one submission (`notebook`, its bytes); `sock` is the
    worker's end of its socket."""

    def __init__(self, notebook: bytes, notebook_name: str, limits: Limits):
        from onebyone.tools.grading import wire  # numpy and torch: see start_server

        self.server = start_server(limits.fence)
        self.sock, theirs = socket.socketpair()
        try:
            self.pid = self.server.start(theirs, limits, notebook_name)
        finally:
            theirs.close()
        self.exit_status = None
        try:
            wire.send(self.sock, {"op": "notebook", "name": notebook_name}, notebook)
        except OSError:
            pass  # it died already: the first request finds out why

    def alive(self) -> bool:
        if self.exit_status is None:
            self.exit_status = self.server.poll(self.pid)
        return self.exit_status is None

    def stop(self) -> None:
        """Kill the process and everything it started."""
        self.sock.close()
        if self.exit_status is None:
            self.exit_status = self.server.stop(self.pid)
