"""The student side: a loop in the sandboxed process that runs the student's cells and answers the
grader's requests (look up a name, call a function, read an attribute).

It runs the cells in an IPython shell, so magics and `exit()` behave as in Jupyter. It never sees
a test cell. Whatever student code does to this process (patching numpy, input transformers,
objects that compare equal to anything) can only change what it answers; the grader takes the
answers as plain values and judges them itself.
"""

import pickle
import socket

from onebyone.tools.grading import wire

HIDDEN_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


class Handle:
    """A reference, inside the arguments the grader sends, to an object kept by this agent."""

    def __init__(self, handle_id: int):
        self.handle_id = handle_id


def describe_error(error):
    """A one-line description of an exception, and whether it means memory ran out."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    memory = isinstance(error, MemoryError) or "can't allocate memory" in text \
        or "not enough memory" in text
    return text[:500], memory


def _make_shell():
    """A fresh IPython shell without history (nothing is written to the home folder)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    return InteractiveShell(config=config)


def warm_up() -> None:
    """Import what a shell needs, once per worker, so that each forked child starts in
    milliseconds (measured: about 0.35 s saved per submission)."""
    _make_shell()


class Agent:
    """Serve the grader's requests on `sock` until it closes the pipe."""

    def __init__(self, sock: socket.socket, max_bytes: int):
        self.sock = sock
        self.max_bytes = max_bytes
        self.objects = {}  # handle id -> object
        self.ids = {}  # id(object) -> handle id, so the same object keeps the same handle
        self.shell = _make_shell()

    def handle_of(self, obj):
        key = id(obj)
        if key not in self.ids:
            self.ids[key] = len(self.objects)
            self.objects[self.ids[key]] = obj
        return self.ids[key]

    def serve(self) -> None:
        while True:
            try:
                request, blob = wire.receive(self.sock, self.max_bytes)
            except EOFError:
                return
            reply, reply_blob = self.answer(request, blob)
            wire.send(self.sock, reply, reply_blob)

    def answer(self, request, blob):
        op = request.get("op")
        try:
            if op == "run":
                return self.run(request["code"]), b""
            if op == "lookup":
                namespace = self.shell.user_ns
                name = request["name"]
                if name in HIDDEN_NAMES or name.startswith("_") or name not in namespace:
                    return {"found": False}, b""
                return self.value_reply(namespace[name])
            target = self.objects[request["target"]]
            if op == "getattr":
                return self.value_reply(getattr(target, request["name"]))
            if op == "len":
                return self.value_reply(len(target))
            if op == "getitem":
                return self.value_reply(target[self.unpack(blob)])
            if op == "iter":
                return self.value_reply(list(target))
            if op == "call":
                return self.call(target, request.get("check"), blob)
            return {"error": f"unknown request {op!r}"}, b""
        except BaseException as error:  # student code may raise anything, SystemExit included
            text, memory = describe_error(error)
            return {"error": text, "memory": memory}, b""

    def value_reply(self, value, **extra):
        document, blob = wire.encode(value, self.handle_of)
        return {"found": True, "value": document, **extra}, blob

    def unpack(self, blob):
        """Arguments sent by the grader (a pickle made by the grader), handles resolved."""
        value = pickle.loads(blob)

        def resolve(v):
            if isinstance(v, Handle):
                return self.objects[v.handle_id]
            if type(v) in (list, tuple):
                return type(v)(resolve(x) for x in v)
            if type(v) is dict:
                return {k: resolve(x) for k, x in v.items()}
            return v

        return resolve(value)

    def run(self, code):
        """Run one cell; report its error, if any, in one line."""
        result = self.shell.run_cell(code, store_history=False, silent=False)
        error = result.error_before_exec or result.error_in_exec
        if error is None:
            return {"ok": True}
        text, memory = describe_error(error)
        return {"ok": False, "error": text, "memory": memory}

    def call(self, fn, check, blob):
        """Call `fn(*args, **kwargs)`; with `check`, through the course's call_learner, whose
        refusals are reported as a violation. Module arguments are echoed back afterwards so the
        grader sees what the call did to them."""
        import torch

        from onebyone.checks.core import CheckFailure, call_learner

        args, kwargs = self.unpack(blob)
        if check is None:
            result = fn(*args, **kwargs)
        else:
            try:
                result = call_learner(fn, *args, numpy_only=bool(check["numpy_only"]),
                                      item=str(check["item"]))
            except CheckFailure as failure:
                return {"violation": str(failure)[:1000]}, b""
        echoed = {str(i): a.state_dict() for i, a in enumerate(args)
                  if isinstance(a, torch.nn.Module)}
        return self.value_reply([result, echoed])
