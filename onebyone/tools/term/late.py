"""Late work as nbgrader rules it, on the gradebook `onebyone grade` writes.

- When: the submission's time from `timestamp.txt` (read by intake with nbgrader's parser),
  recorded as `nbgrader autograde` records it (`update_or_create_submission(timestamp=...)`).
- By when: the gradebook's assignment due date (`nbgrader db assignment add ID --duedate=...`)
  plus the student's extension (`SubmittedAssignment.extension`); nbgrader computes
  `total_seconds_late` from these itself.
- How much: the `LateSubmissionPlugin` configured for the course (`c.LateSubmissionPlugin.
  penalty_method`, or `c.AssignLatePenalties.plugin_class` for a plugin of the course's own),
  loaded the way nbgrader's apps load their config, and the penalty kept between 0 and the
  notebook's score as nbgrader's `AssignLatePenalties` keeps it. It lands in
  `SubmittedNotebook.late_submission_penalty`, which `nbgrader export` sums per assignment.

A platform's late marker without a time (Canvas's `LATE_`) sets no penalty here: there are no
seconds to give the plugin; the platform's own late policy applies when the grades go back.
"""

import contextlib
import dataclasses
import datetime
import logging
import pathlib
import sys

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.baseapp import NbGrader
from nbgrader.preprocessors import AssignLatePenalties
from traitlets.config import Config


class BadLatePolicy(Exception):
    """The course's late policy cannot be loaded (the message says why, in one line)."""


@dataclasses.dataclass(frozen=True)
class Lateness:
    """One submission's time against its due date, and the penalty nbgrader's plugin gave."""

    student: str
    assignment: str
    submitted_at: datetime.datetime | None
    due: datetime.datetime | None  # the due date with the student's extension
    seconds_late: float
    penalty: float


@contextlib.contextmanager
def _course_on_path(course):
    """nbgrader's apps run in the course folder with it on sys.path, so a plugin class named
    in nbgrader_config.py (`late.TenPercentPerDay`) imports from there."""
    saved = list(sys.path)
    sys.path.insert(0, str(course))
    try:
        yield
    finally:
        sys.path[:] = saved


def course_config(course: pathlib.Path) -> Config:
    """The configuration nbgrader's commands see in `course`: the user's and system's
    nbgrader_config.py files, then the course folder's, as `NbGrader.initialize` loads them."""
    course = pathlib.Path(course).resolve()
    # nbgrader's commands log a config file that fails and go on without it; here that would
    # drop the late policy in silence, so it stops the run instead
    app = NbGrader(raise_config_file_errors=True)
    app.log.setLevel(logging.ERROR)  # nbgrader warns when no config file exists at all
    with _course_on_path(course), contextlib.chdir(course):
        try:
            app.initialize([], root=str(course))
        except (Exception, SystemExit) as error:  # a config file that does not run: say which
            raise BadLatePolicy(f"{course / 'nbgrader_config.py'}: {error}".splitlines()[0]) \
                from None
    return app.config


def plugin(config: Config, course: pathlib.Path):
    """The course's late-submission plugin and nbgrader's preprocessor that bounds its answer."""
    with _course_on_path(pathlib.Path(course).resolve()):
        try:
            assigner = AssignLatePenalties(config=config)
            assigner.init_plugin()
        except Exception as error:  # an unknown penalty_method, a plugin that does not import
            raise BadLatePolicy(f"the course's late policy: {error}".splitlines()[0]) from None
    assigner.log.setLevel(logging.ERROR)
    assigner.plugin_inst.log.setLevel(logging.ERROR)
    return assigner


def record_times(gradebook: Gradebook, times: dict) -> None:
    """Record {(student, assignment): submitted_at} as `nbgrader autograde` records the time
    in `timestamp.txt` (a missing time is left as it is)."""
    for (student, assignment), when in sorted(times.items()):
        if when is not None:
            gradebook.update_or_create_submission(assignment, student, timestamp=when)


def apply(gradebook: Gradebook, assigner, assignment: str) -> list[Lateness]:
    """Set every submission's late penalty for `assignment` with the course's plugin, as
    nbgrader's `AssignLatePenalties` does notebook by notebook (reset, ask the plugin when the
    submission is late, keep the answer within [0, score]); one transaction."""
    found = []
    try:
        submissions = gradebook.find_assignment(assignment).submissions
    except MissingEntry:
        return found
    for submission in sorted(submissions, key=lambda s: s.student.id):
        seconds = submission.total_seconds_late
        total = 0.0
        for notebook in submission.notebooks:
            notebook.late_submission_penalty = None
            if seconds > 0:
                penalty = assigner.plugin_inst.late_submission_penalty(
                    submission.student.id, notebook.score, seconds)
                if penalty is not None:
                    notebook.late_submission_penalty = assigner._check_late_penalty(notebook,
                                                                                    penalty)
                    total += notebook.late_submission_penalty
        found.append(Lateness(submission.student.id, assignment, submission.timestamp,
                              submission.duedate, seconds, total))
    gradebook.db.commit()
    return found
