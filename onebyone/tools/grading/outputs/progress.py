"""A progress bar on stderr: counts, rate and time left. On a terminal it redraws one line; in
a log (not a TTY) it prints one plain line per finished submission."""

import sys
import time
from typing import TextIO

from onebyone.tools.grading.result import Result

WIDTH = 28


def clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None):
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self.done = self.failed = self.reused = 0

    def update(self, result: Result, reused: bool = False) -> None:
        self.done += 1
        self.reused += reused
        self.failed += not result.normal
        elapsed = time.monotonic() - self.start
        graded_now = self.done - self.reused
        eta = elapsed / graded_now * (self.total - self.done) if graded_now else 0.0
        filled = int(WIDTH * self.done / max(self.total, 1))
        line = (f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total} "
                f"({self.failed} not graded normally, {self.reused} unchanged) "
                f"elapsed {clock(elapsed)}, ETA {clock(eta)}")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(f"{line}  {result.student}/{result.assignment}: {result.status}\n")
        self.stream.flush()
