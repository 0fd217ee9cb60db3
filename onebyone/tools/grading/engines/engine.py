"""What an engine is: the local pool (pool.py) and the Dask engine (cluster.py) both grade a
list of jobs and hand the results to the main process as they arrive, through the same loop.
batch.py starts one and knows nothing else of it."""

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from onebyone.tools.grading.result import Job, Result

OnResults = Callable[[list[Result]], None]


class Engine(Protocol):
    def grade(self, pending: list[Job], sources: dict, on_results: OnResults,
              meanwhile: Callable[[], None] | None = None) -> None:
        """Grade `pending`; call on_results([result, ...]) in this process with the results that
        are in (all those that arrived meanwhile, together; each job once), and meanwhile()
        once, when the first submissions are handed out."""

    def close(self) -> None:
        """Stop the workers (without waiting for them to leave)."""


def deliver(batches: Iterable[list], result_of: Callable[[Any], Result | None],
            on_results: OnResults) -> None:
    """The loop both engines share: for each batch of finished tasks, their results
    (`result_of(task)`; None: nothing to record for it now, e.g. retried) handed over together.
    What came in before an error (a lost cluster) is still handed over."""
    for arrived in batches:
        graded = []
        try:
            for task in arrived:
                one = result_of(task)
                if one is not None:
                    graded.append(one)
        finally:
            if graded:
                on_results(graded)
