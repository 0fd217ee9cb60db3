"""A Dask worker's grader process's warm-up (cluster_worker.py): numpy, torch and the grader
imported, all frozen (grading.collector_paused). Importing this module does it. Student
processes come from the student fork server (sandbox/server.py), never from a grader process.
(A local worker is forked warm from the hub instead: hub.py.)

A grader process ignores Ctrl-C (SIGINT, sent to the whole terminal's group): the main process
handles it, says so in one line, and stops the workers, each once its submission is done. An
interrupt raised wherever a worker happens to be would print a traceback per worker instead.
"""

import functools
import signal

from onebyone.tools.grading import collector_paused


@functools.cache
def warm() -> None:
    """Once per process (a worker forked from a warm process inherits it done)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with collector_paused():
        import torch

        from onebyone.tools.grading import runner, sandbox  # noqa: F401  (imported to be warm)

        # torch's thread pool does not survive fork(): with one thread it is never used (a worker
        # forked from a process whose pool ran would wait on threads it does not have)
        torch.set_num_threads(1)


warm()
