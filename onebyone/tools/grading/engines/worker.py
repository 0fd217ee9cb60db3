"""A local grading worker's loop (forked, warm, by hub.py, inside the fence): it receives the
source notebooks, then one submission at a time, from the main process over its socket, and
sends each result back. It reads nothing from the disk and has no network: the main process
(pool.py) hands it everything, and the fence shows it nothing else.

Messages (multiprocessing's Connection: pickles, both ends the grader's own code):
  main -> worker: ("sources", {assignment: course.Source}), then ("job", Job with its notebook's
  bytes in `data`, Limits) for each submission;  worker -> main: the job's result.Result.
The worker's end closing (the main process is done, or gone) ends the worker. The hidden tests'
reference (tools/answers.py) reads the solutions from the sources it holds, not from a folder.
"""

import multiprocessing.connection
import socket

from onebyone.tools import answers
from onebyone.tools.grading import collector_paused, runner
from onebyone.tools.grading.sandbox import child


def serve(sock: socket.socket, server_control: socket.socket, fenced: bool,
          nproc: int | None) -> int:
    """Grade what arrives on `sock`, with the student fork server on `server_control`, until
    the main process closes its end; returns the exit code."""
    child.attach(server_control, fenced, nproc)
    pipe = multiprocessing.connection.Connection(sock.detach())
    sources = {}
    while True:
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            return 0
        if message[0] == "sources":
            with collector_paused():  # the assignments' own imports, once
                sources = message[1]
                answers.hold({a: source.cells for a, source in sources.items()})
                runner.preload(sources)
        elif message[0] == "job":
            _, job, limits = message
            pipe.send(runner.grade_job(job, sources, limits))
