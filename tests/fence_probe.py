"""Run by tests/test_grading_fence.py, as root or as an ordinary user: starts one fenced student
process through the grader's own sandbox and prints, as JSON, what that process can see."""

import json
import sys

from onebyone.tools.grading import sandbox, wire

LOOK = r'''
import os, socket, errno
seen = {"pid": os.getpid(), "ppid": os.getppid(), "uid": os.getuid(), "cwd": os.getcwd(),
        "environment": sorted(os.environ), "proc": sorted(os.listdir("/proc")),
        "interfaces": [name for _, name in socket.if_nameindex()], "files": [], "folders": []}
skip = set(SKIP)
for folder, dirs, files in os.walk("/"):
    if folder in skip:
        dirs[:] = []
        continue
    seen["folders"].append(folder)
    seen["files"] += [os.path.join(folder, name) for name in files]
import sys, onebyone
seen["writable"] = []  # the package and the Python installation are bound read-only
for folder in (os.path.dirname(onebyone.__file__), sys.prefix):
    try:
        open(os.path.join(folder, ".fence-probe"), "w").close()
        seen["writable"].append(folder)
    except OSError:
        pass
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2).close()
    seen["network"] = "connected"
except OSError as error:
    seen["network"] = errno.errorcode.get(error.errno, str(error))
try:
    os.kill(-1, 0)  # every process it may signal: none but itself
    seen["signal"] = "sent"
except OSError as error:
    seen["signal"] = errno.errorcode.get(error.errno, str(error))
'''


def main(port, *skip):
    child = sandbox.Child(b"{}", "probe.ipynb", sandbox.Limits())
    try:
        code = LOOK.replace("SKIP", repr(list(skip))).replace("PORT", port)
        wire.send(child.sock, {"op": "run", "code": code})
        reply, _ = wire.receive(child.sock, 1 << 26)
        assert reply.get("ok"), reply
        wire.send(child.sock, {"op": "lookup", "name": "seen"})
        document, blob = wire.receive(child.sock, 1 << 26)
        print(json.dumps(wire.decode(document["value"], blob, lambda handle: None)))
    finally:
        child.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
