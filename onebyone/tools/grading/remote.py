"""The grader's side of the pipe: stand-ins for the student's functions and objects.

A test cell runs in the grader with each of the student's names bound to a `RemoteObject`.
Calling it sends the arguments to the student process and brings back the result as plain data
(see wire.py). Objects that cannot travel as data (a torch module the student built) stay in the
student process and come back as another `RemoteObject`, which supports what the checks use:
calling it (forward), its attributes and methods (state_dict, parameters, load_state_dict,
train/eval, modules, ...), len, indexing, iteration, and `isinstance` against torch classes
(through the class names the student process reports; behaviour is then checked on values).
"""

import os
import pickle
import select
import signal
import sys
import time
from collections.abc import Callable

import torch

from onebyone.checks import core
from onebyone.tools.grading import wire
from onebyone.tools.grading.agent import Handle
from onebyone.tools.grading.result import Status
from onebyone.tools.grading.sandbox.child import Child
from onebyone.tools.grading.wording import N_


class SubmissionStopped(BaseException):  # noqa: N818 (not an error of the test cell)
    """The student process is gone or out of time: grading of this submission stops here.

    A BaseException, so `except Exception` in a test cell cannot swallow it."""

    def __init__(self, status: Status, detail: str):
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class ItemTimedOut(BaseException):  # noqa: N818 (not an error of the test cell)
    """The running test cell used up its share of the time (see runner.py): that item scores
    zero, the student process is replaced, and grading goes on. A BaseException, so that a test
    cell's `except Exception` cannot swallow it."""


class LearnerError(Exception):
    """The student's code raised this exception (its type and message, as text)."""


def _torch_class(names):
    """The first torch class among the reported class names (already imported; nothing is
    imported on the student's say-so), or None."""
    for name in names:
        module_name, _, qualname = str(name).rpartition(".")
        if not module_name.startswith("torch.") or module_name not in sys.modules:
            continue
        value = sys.modules[module_name]
        for part in qualname.split("."):
            value = getattr(value, part, None)
        if isinstance(value, type):
            return value
    return None


class RemoteObject:
    """A stand-in for an object that lives in the student process."""

    __slots__ = ("_session", "_id", "_classes", "_callable", "_name", "_generation")

    def __init__(self, session, handle):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_generation", session.generation)
        object.__setattr__(self, "_id", handle["object"])
        object.__setattr__(self, "_classes", [str(c) for c in handle["classes"]][:50])
        object.__setattr__(self, "_callable", bool(handle.get("callable")))
        object.__setattr__(self, "_name", str(handle.get("name", ""))[:100])

    @property
    def __class__(self):
        return _torch_class(self._classes) or RemoteObject

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._session.request({"op": "getattr", "target": self._session.target(self),
                                      "name": name})

    def __setattr__(self, name, value):
        raise AttributeError("objects of the student's code are read-only in the grader")

    def __call__(self, *args, **kwargs):
        result, echoed = self._session.call(self, args, kwargs, check=None)
        return result

    def __len__(self):
        return self._session.request({"op": "len", "target": self._session.target(self)})

    def __getitem__(self, key):
        return self._session.request({"op": "getitem", "target": self._session.target(self)},
                                     key)

    def __iter__(self):
        return iter(self._session.request({"op": "iter", "target": self._session.target(self)}))

    def __repr__(self):
        kind = self._classes[0] if self._classes else "object"
        return f"<student's {kind} {self._name}>".replace("  ", " ")

    def checked_call(self, args, numpy_only, item):
        """What a check's call of learner code becomes for a stand-in: the grader's own static
        check of the student's source, then the call in the student process through its
        call_learner."""
        if not self._callable:
            kind = self._classes[0].rpartition(".")[2] if self._classes else "object"
            raise core.CheckFailure(f"{item} should be a function, but it is a {kind}.")
        self._session.static_check(self._name, numpy_only, item)
        result, _ = self._session.call(self, args, {}, check={"numpy_only": numpy_only,
                                                             "item": item})
        return result


class Session:
    """Requests to one student process, each bounded by the submission's deadline and, while a
    test cell runs, by that test's own deadline (`item_deadline`)."""

    def __init__(self, child: Child, deadline: float, max_bytes: int,
                 static_checker: Callable | None = None):
        self.child = child
        self.deadline = deadline
        self.item_deadline = None  # set by the runner around each test cell
        self.max_bytes = max_bytes
        self.static_checker = static_checker
        self.proxies = {}
        self.generation = 0  # how many times the student process was replaced
        self.memory_trouble = False

    def replace_child(self, child: Child) -> None:
        """Go on with a new student process (the runner replays the student's cells in it);
        stand-ins for objects of the old one stop working (see `target`)."""
        self.child.stop()
        self.child = child
        self.proxies = {}
        self.generation += 1

    def target(self, proxy):
        """The handle id of a stand-in, if its object lives in the current student process."""
        if object.__getattribute__(proxy, "_generation") != self.generation:
            raise LearnerError(N_("this object was made by your code before it was restarted "
                                  "(an earlier test ran out of time)"))
        return object.__getattribute__(proxy, "_id")

    def _time_left(self):
        """(seconds left, whether the limit is the running test's own) for the next answer."""
        now = time.monotonic()
        if self.item_deadline is not None and self.item_deadline < self.deadline:
            return self.item_deadline - now, True
        return self.deadline - now, False

    def _out_of_time(self, item):
        if item:
            raise ItemTimedOut()
        raise SubmissionStopped(Status.TIMED_OUT, N_("the time limit was reached"))

    def call_for_check(self, fn: Callable, args: tuple, numpy_only: bool, item: str) -> object:
        """The grader's way of calling learner code, handed to the checks (see runner.py)."""
        if type(fn) is RemoteObject:
            return fn.checked_call(args, numpy_only=numpy_only, item=item)
        return core.call_here(fn, *args, numpy_only=numpy_only, item=item)

    def static_check(self, name, numpy_only, item):
        if self.static_checker is not None:
            self.static_checker(name, numpy_only, item)

    def proxy(self, handle):
        if handle["object"] not in self.proxies:
            self.proxies[handle["object"]] = RemoteObject(self, handle)
        return self.proxies[handle["object"]]

    def _pickled(self, value):
        def replace(v):
            if type(v) is RemoteObject:
                return Handle(self.target(v))
            if type(v) in (list, tuple):
                return type(v)(replace(x) for x in v)
            if type(v) is dict:
                return {k: replace(x) for k, x in v.items()}
            return v
        return pickle.dumps(replace(value), protocol=pickle.HIGHEST_PROTOCOL)

    def exchange(self, request, blob=b""):
        """Send a request, wait for the answer until the deadline; stop the submission if the
        student process dies, runs out of time or answers nonsense."""
        sock = self.child.sock
        try:
            wire.send(sock, request, blob)
            left, item = self._time_left()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                self._out_of_time(item)
            sock.settimeout(max(self._time_left()[0], 0.01))
            document, blob = wire.receive(sock, self.max_bytes)
        except (EOFError, ConnectionError, BrokenPipeError):
            raise SubmissionStopped(*self.death()) from None
        except TimeoutError:
            self._out_of_time(self._time_left()[1])
        except wire.ProtocolError as error:
            raise SubmissionStopped(Status.TAMPERING,
                                    f"the student process sent a malformed message ({error})"
                                    ) from None
        if "fatal" in document:
            # after student code has run, a broken agent is the student's doing
            status = Status.MEMORY_LIMIT if document.get("memory") else \
                Status.KERNEL_DIED if document.get("student") else Status.GRADER_ERROR
            raise SubmissionStopped(status, f"sandbox: {str(document['fatal'])[:500]}")
        if document.get("memory"):
            self.memory_trouble = True
        return document, blob

    def death(self):
        """(status, detail) for a student process that stopped answering."""
        for _ in range(50):
            if not self.child.alive():
                break
            time.sleep(0.01)
        status = self.child.exit_status
        if status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGKILL and self.memory_trouble:
                return Status.MEMORY_LIMIT, N_("killed after running out of memory")
            signal_name = signal.Signals(sig).name
            return Status.KERNEL_DIED, N_("the student process was killed by {signal}").format(
                signal=signal_name)
        if status is not None and os.WIFEXITED(status):
            code = os.WEXITSTATUS(status)
            return Status.KERNEL_DIED, N_("the student process exited with code {code}").format(
                code=code)
        return Status.KERNEL_DIED, N_("the student process closed its pipe")

    def value(self, document, blob):
        try:
            return wire.decode(document, blob, self.proxy)
        except wire.ProtocolError as error:
            raise SubmissionStopped(Status.TAMPERING, f"malformed value ({error})") from None

    def request(self, request, argument=None):
        """A request that returns a value (getattr, len, getitem, iter)."""
        blob = b"" if argument is None else self._pickled(argument)
        document, blob = self.exchange(request, blob)
        if "error" in document:
            raise LearnerError(str(document["error"]))
        return self.value(document.get("value"), blob)

    def run_cell(self, code: str) -> str | None:
        """Run one of the student's cells; returns the error text or None."""
        document, _ = self.exchange({"op": "run", "code": code})
        return None if document.get("ok") else str(document.get("error", "error"))[:500]

    def lookup(self, name: str) -> object:
        """The student's global `name` (a value or a stand-in), or raise KeyError."""
        document, blob = self.exchange({"op": "lookup", "name": name})
        if "error" in document:
            raise LearnerError(str(document["error"]))
        if not document.get("found"):
            raise KeyError(name)
        value = self.value(document.get("value"), blob)
        if type(value) is RemoteObject and not value._name:
            object.__setattr__(value, "_name", name)
        return value

    def call(self, target, args, kwargs, check):
        """Call a stand-in; copy back what the call did to module arguments. (result, echoed)"""
        blob = self._pickled((tuple(args), dict(kwargs)))
        request = {"op": "call", "target": self.target(target), "check": check}
        document, blob = self.exchange(request, blob)
        if "violation" in document:
            raise core.CheckFailure(str(document["violation"])[:1000])
        if "error" in document:
            raise LearnerError(str(document["error"]))
        reply = self.value(document.get("value"), blob)
        if type(reply) is not list or len(reply) != 2 or type(reply[1]) is not dict:
            raise SubmissionStopped(Status.TAMPERING, "malformed call result")
        result, echoed = reply
        for index, state in echoed.items():
            _copy_back(args, index, state)
        return result, echoed


def _copy_back(args, index, state):
    """Give the grader's module argument the weights the student's call left it with."""
    try:
        module = args[int(index)]
    except (ValueError, IndexError):
        return
    if not isinstance(module, torch.nn.Module) or type(state) is not dict:
        return
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            new = state.get(name)
            if isinstance(new, torch.Tensor) and new.shape == tensor.shape:
                tensor.copy_(new.to(tensor.dtype))
