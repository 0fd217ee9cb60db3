"""Grade one submission: the student's cells in a sandboxed process, the test cells here.

Runs in a grading worker. The test cells come from the instructor's source notebook and run in
this (trusted) process, with each name the student defined bound to a stand-in that forwards
calls to the student process (remote.py). A test cell scores its points when it finishes without
an exception; the message of the exception it raised otherwise is the feedback.

Time: the whole submission has `Limits.seconds`; each test cell, with the student's code it calls,
has its own share (`Limits.item_seconds`, by default the submission's time divided by the number
of test cells). A test that runs out of its share scores zero ("timed out after N s") and the
student process is replaced by a new sandboxed one in which the student's cells run again, so the
later tests are graded as usual. A restart, not an interrupt: student code can catch
KeyboardInterrupt or ignore SIGINT, and a process killed mid-call leaves no half-written answer
on the pipe. A student's own cell that never ends still ends the submission ("timed out").
"""

import builtins
import contextlib
import importlib
import io
import time
import traceback
import warnings

from onebyone.checks import core
from onebyone.tools import names
from onebyone.tools.grading import language, plan, sandbox
from onebyone.tools.grading.remote import ItemTimedOut, LearnerError, Session, SubmissionStopped
from onebyone.tools.grading.result import ItemResult, Job, Result, Status
from onebyone.tools.grading.sandbox.limits import Limits
from onebyone.tools.grading.static import StudentSource
from onebyone.tools.grading.wording import N_

MESSAGE_CHARS = 4000  # kept whole up to here; the feedback page shortens what it shows
NOT_RUN = N_("not run")


def preload(sources: dict) -> None:
    """Import in this worker the course modules the cells of `sources` import (their checks),
    so that neither the test cells nor each forked student process imports them again."""
    for source in sources.values():
        for name in source.course_modules():
            with contextlib.suppress(ImportError):  # `from onebyone import data` names a module,
                importlib.import_module(name)  # `... import some_function` does not


def failure_message(error: BaseException, failed_cells: list[tuple[str, str]] = ()) -> str:
    """What the student is told about a failed test: the exception's message, never its code.
    `failed_cells`: (cell, error) of the student's cells that raised before this test: a name
    they did not define is their error's doing, not a name the student forgot."""
    if isinstance(error, LearnerError):
        text = N_("your code raised {error}").format(error=error)
    elif isinstance(error, AssertionError):
        text = str(error) or N_("a test's condition was not met")
    elif isinstance(error, NameError) and failed_cells:
        cell, raised = failed_cells[-1]
        text = N_("{error}: your cell {cell} raised {raised} before it could define it (fix that "
                  "cell and run every cell)").format(error=error, cell=cell,
                                                     raised=raised.splitlines()[0][:300])
    elif isinstance(error, NameError):
        text = N_("{error} (define it in your notebook and run every cell)").format(error=error)
    else:
        text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 1] + "…"


def item_seconds(limits, test_count):
    """Each test cell's share of the submission's time."""
    return limits.item_seconds or limits.seconds / max(test_count, 1)


def seconds_text(seconds):
    return f"{seconds:.3g}"


def _names(code: str) -> tuple[frozenset, frozenset]:
    """(names read, names assigned) in a test cell, nested scopes included. Parameters are not
    assigned: a test cell's top level may read the student's `x` beside a `def check(x)`."""
    found = names.walk(code)
    return found.read, found.stored | found.defined | found.imported


class Grading:
    """The state of one submission's grading: the trusted namespace, the student's stand-ins."""

    def __init__(self, session, start_child):
        self.session = session
        self.start_child = start_child  # a new sandboxed student process, when one is needed
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.learner_names = set()
        self.ran = []  # the cells run in the student process so far, replayed after a restart
        self.failed: list[tuple[str, str]] = []  # (cell, error) of the student's that raised

    def run_student(self, code: str, cell_id: str = "") -> str | None:
        """Run a cell in the student process; returns its error text or None."""
        self.ran.append(code)
        error = self.session.run_cell(code)
        if error:
            self.failed.append((cell_id, error))
        return error

    def restart(self):
        """A new student process, in the state the student's cells leave it in."""
        self.session.replace_child(self.start_child())
        for code in self.ran:
            self.session.run_cell(code)  # its errors were noted the first time

    def run_trusted(self, code, cell_id):
        """Run instructor code (setup or test) here; output is discarded, warnings ignored."""
        compiled = compile(code, f"<{cell_id}>", "exec")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings(), core.calling_learner_with(self.session.call_for_check):
            warnings.simplefilter("ignore")
            exec(compiled, self.namespace)

    def bind_learner_names(self, code):
        """Bind each name the test cell reads but that the grader's own code has not defined
        to the student's current value of it (re-read before every test cell)."""
        read, assigned = _names(code)
        for name in sorted(read - assigned):
            trusted = name in self.namespace and name not in self.learner_names
            if trusted or (hasattr(builtins, name) and name not in self.learner_names):
                continue
            try:
                self.namespace[name] = self.session.lookup(name)
                self.learner_names.add(name)
            except KeyError:
                self.namespace.pop(name, None)
                self.learner_names.discard(name)

    def run_test(self, step, seconds):
        """(passed, message, timed out) of one test cell, given `seconds` for it."""
        try:
            self.session.item_deadline = time.monotonic() + seconds
            self.bind_learner_names(step.code)
            self.run_trusted(step.code, step.cell_id)
        except ItemTimedOut:
            pass  # handled below, once the test's own deadline is lifted
        except SubmissionStopped:
            raise
        except Exception as error:  # the test failed: AssertionError, CheckFailure or any other
            return False, failure_message(error, self.failed), False
        else:
            return True, "", False
        finally:
            self.session.item_deadline = None
        self.restart()
        return False, N_("timed out after {seconds} s").format(seconds=seconds_text(seconds)), True


def _items(source, message):
    return [ItemResult(t.grade_id, 0.0, t.points, message, t.description) for t in source.tests()]


def grade_notebook(source, data, notebook_name, limits):
    """Grade the submitted notebook `data` (bytes) against `source`: (status, notes, items,
    language), the checks' messages in the notebook's language (language.py)."""
    try:
        submission = plan.read_submission(data)
    except plan.InvalidNotebook as error:
        items = _items(source, N_("not graded: the notebook could not be read"))
        return Status.INVALID_NOTEBOOK, [str(error)], items, language.ENGLISH
    spoken = language.of_submission(source, submission)
    with language.speaking(spoken):
        return (*_run(source, submission, data, notebook_name, limits), spoken)


def _run(source, submission, data, notebook_name, limits):
    """(status, notes, items) of a submission read from its notebook (`data`, its bytes)."""
    items = _items(source, NOT_RUN)
    by_id = {item.grade_id: item for item in items}
    steps, notes = plan.build(source, submission)
    static = StudentSource([s.code for s in steps if s.where != "grader"])
    def start_child():
        return sandbox.Child(data, notebook_name, limits)

    share = item_seconds(limits, sum(step.where == "grader" for step in steps))
    session = Session(start_child(), time.monotonic() + limits.seconds, limits.message_mb << 20,
                      static.check)
    grading = Grading(session, start_child)
    status = Status.GRADED
    try:
        for step in steps:
            if step.where in ("both", "student"):
                error = grading.run_student(step.code, step.cell_id)
                if error:
                    notes.append(N_("cell {cell} raised {error}").format(cell=step.cell_id,
                                                                           error=error))
            if step.where == "both":
                grading.run_trusted(step.code, step.cell_id)
            if step.where == "grader":
                passed, message, timed_out = grading.run_test(step, share)
                item = by_id[step.cell_id]
                item.score, item.message = (step.points if passed else 0.0), message
                if timed_out:
                    notes.append(N_("{cell} {message}: the student's process was restarted "
                                    "and its cells run again").format(cell=step.cell_id,
                                                                      message=message))
    except SubmissionStopped as stop:
        status = stop.status
        notes.append(stop.detail)
        for item in items:
            if item.message == NOT_RUN:
                item.message = N_("not run: {status}").format(status=stop.status)
    finally:
        session.child.stop()
    if status is Status.GRADED and session.memory_trouble:
        status = Status.MEMORY_LIMIT
    return status, notes, items


def grade_job(job: Job, sources: dict, limits: Limits) -> Result:
    """Grade one job (see batch.py) in a worker; never raises. Returns its Result. A local
    worker (inside the fence) gets the notebook's bytes in `job.data`."""
    start = time.monotonic()
    source = sources.get(job.assignment)
    status, notes, items, spoken = Status.GRADED, [], [], language.ENGLISH
    try:
        if source is None:
            status = Status.UNKNOWN_ASSIGNMENT
            notes = [N_("no source notebook for {assignment}").format(
                assignment=repr(job.assignment))]
        elif job.problem:
            status, notes, items = Status(job.problem), list(job.notes), \
                _items(source, N_("not graded"))
        else:
            data = job.data
            if data is None:  # a worker outside the fence (Dask's) reads it where it is
                with open(job.notebook, "rb") as handle:
                    data = handle.read()
            status, notes, items, spoken = grade_notebook(source, data,
                                                          f"{job.assignment}.ipynb", limits)
    except Exception as error:  # a fault of the grader, reported on this row only
        status, items = Status.GRADER_ERROR, []
        notes = [f"{type(error).__name__}: {error}", traceback.format_exc(limit=3)[-1500:]]
    return Result(student=job.student, assignment=job.assignment, key=job.key,
                  status=status, notes=notes, items=items,
                  max_score=source.max_score() if source else 0.0,
                  seconds=round(time.monotonic() - start, 3), language=spoken)
