"""The sandbox: where a student's code runs, and what it can reach.

Three processes, and what each one holds:
- the grading worker (trusted): the source notebooks, the hidden tests, the test cells it runs;
- the student fork server (server.py): a fresh interpreter started inside the fence that imports
  numpy, torch, IPython and the course's checks, and nothing else. It never holds a source
  notebook, a hidden test, a solution, a submission or the grader's state: a request carries
  the limits, a file name and the end of a socket, nothing more;
- one student process per submission, forked from that server: it receives its own notebook
  over its socket and runs the student's cells (agent.py).

The fence (fence.py) is an allow-list, made with bubblewrap and unprivileged user namespaces,
so it needs no root: the Python installation and its packages and the `onebyone` package,
read-only; an empty working folder and a private /tmp per student process; a pid namespace of
its own (it sees and signals nothing else); no network; the resource limits of limits.py.

Modules: limits.py (what a submission may use), fence.py (the bubblewrap command line and the
kernel calls a student process makes on itself), server.py (the fork server, run inside the
fence), child.py (the worker's handle on a student process).
"""

from onebyone.tools.grading.sandbox.fence import problem
from onebyone.tools.grading.sandbox.limits import Limits

__all__ = ["Child", "Limits", "problem", "start_server"]


def __getattr__(name):
    # child.py imports numpy and torch (wire.py): loaded when a worker first needs it, not by
    # the main process that only reads Limits before it forks its workers
    if name in ("Child", "start_server"):
        from onebyone.tools.grading.sandbox import child

        return getattr(child, name)
    raise AttributeError(name)
