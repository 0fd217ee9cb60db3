"""The term around one `onebyone grade` run (batch.py calls it, step by step):

1. before grading: the course's nbgrader configuration (its default gradebook, its late policy),
   the roster, and the submissions read with intake (a platform's download or nbgrader's layout)
   turned into the run's jobs;
2. once the gradebook is open: the roster imported, the submissions' times recorded;
3. after grading: nbgrader's late penalties set, and every score read back from the gradebook
   (a score given by hand in formgrader wins over the grader's, as in `nbgrader export`), for
   grades.csv, the report, the pages and the platforms' grade files; the roster's students with
   no submission listed as `not submitted`.
"""

import dataclasses
import pathlib
import warnings

import sqlalchemy
from nbgrader.api import MissingEntry

from onebyone.tools.grading.result import Job, Result
from onebyone.tools.term import intake, late, roster


class TermError(Exception):
    """The course's configuration or the roster cannot be used (one line says why)."""


@dataclasses.dataclass
class Term:
    """What a run knows of the course's term before it grades."""

    course: pathlib.Path
    config: object  # traitlets Config: what nbgrader's commands see in the course folder
    db_url: str  # the gradebook the run writes
    students: list[roster.Student] | None  # the roster, when given

    @property
    def student_ids(self) -> list[str]:
        return [s.id for s in self.students or ()]


def default_db_url(config, course: pathlib.Path) -> str:
    """The gradebook nbgrader's commands read in `course` without `--db` (its
    `CourseDirectory.db_url`, which defaults to the course root's gradebook.db)."""
    return coursedir(Term(course, config, "", None)).db_url


def prepare(course: pathlib.Path, roster_path: pathlib.Path | None,
            db_url: str | None) -> Term:
    """The course's configuration, its gradebook's URL (`db_url` overrides) and the roster."""
    try:
        config = late.course_config(course)
    except late.BadLatePolicy as error:
        raise TermError(str(error)) from None
    students = None
    if roster_path is not None:
        try:
            students = roster.read(roster_path)
        except roster.BadRoster as error:
            raise TermError(str(error)) from None
    return Term(course, config, db_url or default_db_url(config, course), students)


def read_submissions(term: Term, submitted: pathlib.Path, work: pathlib.Path,
                     assignment_ids: list[str] | None, known: set[str]) -> intake.Intake:
    """The submissions under `submitted` (a folder or a zip unpacked into `work`); a platform
    download is for the one assignment `--assignment` names. Raises intake.CannotRead."""
    given = assignment_ids[0] if assignment_ids and len(assignment_ids) == 1 else None
    return intake.read(submitted, work, term.students, given, frozenset(known))


def jobs_of(found: intake.Intake, assignment_ids: list[str] | None) -> tuple[list[Job], list]:
    """(jobs, unmatched): one job per matched submission (of the assignments asked for, when
    given), and a job with a problem for nbgrader's `<student>/<assignment>/` folder whose
    notebook is missing or misnamed or whose assignment the course does not have (so it has a
    row); everything else that was not matched, to be listed."""
    jobs, unmatched = [], []
    for s in found.submissions:
        if not assignment_ids or s.assignment in assignment_ids:
            jobs.append(Job(s.student, s.assignment, notebook=str(s.notebook)))
    for u in found.unmatched:
        parts = u.path.split("/")
        wanted = not assignment_ids or (len(parts) == 3 and parts[1] in assignment_ids)
        if len(parts) == 3 and u.reason.startswith("nbgrader layout: expected"):
            if wanted:
                jobs.append(Job(parts[0], parts[1], problem="missing notebook",
                                notes=(f"{u.reason}; found {parts[2]}",)))
        elif len(parts) == 3 and u.reason.endswith("is no assignment of the course"):
            if wanted:
                jobs.append(Job(parts[0], parts[1], notebook=str(found_path(found, u)),
                                notes=(u.reason,)))
        else:
            unmatched.append(u)
    jobs += _empty_nbgrader_folders(found, assignment_ids)
    jobs.sort(key=lambda job: job.who)
    seen, unique = set(), []
    for job in jobs:  # several misnamed notebooks in one folder: one row
        if job.who not in seen:
            seen.add(job.who)
            unique.append(job)
    return unique, unmatched


def _empty_nbgrader_folders(found: intake.Intake, assignment_ids: list[str] | None) -> list[Job]:
    """A `missing notebook` job for each nbgrader `<student>/<assignment>/` folder holding no
    file at all (`nbgrader collect` of a submission without the notebook): it has a row."""
    if found.root is None or not found.root.is_dir():
        return []
    jobs = []
    for student in sorted(found.root.iterdir()):
        if not student.is_dir() or student.name in intake.IGNORED or \
                student.name.startswith(".") or intake.MOODLE_FOLDER.match(student.name):
            continue
        for folder in sorted(p for p in student.iterdir() if p.is_dir()):
            if assignment_ids and folder.name not in assignment_ids:
                continue
            if not any(p.is_file() for p in folder.rglob("*")):
                jobs.append(Job(student.name, folder.name, problem="missing notebook",
                                notes=(f"expected {folder.name}.ipynb; found none",)))
    return jobs


def found_path(found: intake.Intake, unmatched: intake.Unmatched) -> pathlib.Path | None:
    """The file an unmatched entry names, under the folder intake read."""
    return found.root / unmatched.path if found.root else None


def times_of(found: intake.Intake, jobs: list[Job]) -> dict:
    """{(student, assignment): submitted_at} of the jobs, where nbgrader recorded a time."""
    wanted = {job.who for job in jobs}
    return {(s.student, s.assignment): s.submitted_at for s in found.submissions
            if (s.student, s.assignment) in wanted and s.submitted_at is not None}


CANVAS_LATE = ("Canvas marked it late (LATE_), with no time: no penalty is set here; Canvas's "
               "own late policy applies when the grades are imported")


def with_platform_marks(found: intake.Intake, results: dict) -> None:
    """A note on each result whose submission the platform marked late (Canvas's `LATE_`),
    in place: grades.csv and the report say so."""
    for s in found.submissions:
        result = results.get((s.student, s.assignment))
        if s.late and result is not None and CANVAS_LATE not in result.notes:
            results[(s.student, s.assignment)] = dataclasses.replace(
                result, notes=[*result.notes, CANVAS_LATE])


def record_class(gradebook, term: Term, times: dict) -> None:
    """The roster into the gradebook (as `nbgrader db student import`) and the submissions'
    times (as `nbgrader autograde` records timestamp.txt)."""
    with warnings.catch_warnings():  # nbgrader's ORM warns about its own autoflush
        warnings.simplefilter("ignore")
        if term.students:
            roster.import_into(gradebook, term.students)
        for student in sorted({student for student, _ in times}):
            try:  # without a roster, a student is first met here
                gradebook.find_student(student)
            except MissingEntry:
                gradebook.add_student(student)
        late.record_times(gradebook, times)


def apply_late_policy(gradebook, term: Term, assignments: list[str]) -> list[late.Lateness]:
    """nbgrader's late penalties for these assignments, with the course's plugin. Raises
    TermError when the plugin cannot be loaded."""
    try:
        assigner = late.plugin(term.config, term.course)
    except late.BadLatePolicy as error:
        raise TermError(str(error)) from None
    found = []
    for assignment in assignments:
        found += late.apply(gradebook, assigner, assignment)
    return found


def gradebook_scores(gradebook, assignments: list[str]) -> dict:
    """{(student, assignment): ({grade_id: score}, late penalty)} of every submission of these
    assignments, scores as nbgrader counts them (a manual score wins over the autograder's),
    the notebook named after the assignment; in one query."""
    from nbgrader import api

    if not assignments:
        return {}
    rows = gradebook.db.execute(
        sqlalchemy.select(api.Assignment.name, api.SubmittedAssignment.student_id,
                          api.BaseCell.name,
                          sqlalchemy.func.coalesce(api.Grade.manual_score, api.Grade.auto_score),
                          api.SubmittedNotebook.late_submission_penalty)
        .select_from(api.Grade)
        .join(api.BaseCell, api.Grade.cell_id == api.BaseCell.id)
        .join(api.SubmittedNotebook, api.Grade.notebook_id == api.SubmittedNotebook.id)
        .join(api.SubmittedAssignment,
              api.SubmittedNotebook.assignment_id == api.SubmittedAssignment.id)
        .join(api.Notebook, api.SubmittedNotebook.notebook_id == api.Notebook.id)
        .join(api.Assignment, api.Notebook.assignment_id == api.Assignment.id)
        .where(api.Assignment.name.in_(assignments), api.Notebook.name == api.Assignment.name))
    found = {}
    for assignment, student, cell, score, penalty in rows:
        scores, _ = found.setdefault((student, assignment), ({}, penalty or 0.0))
        scores[cell] = score
    return found


def as_recorded(result: Result, recorded: tuple | None) -> Result:
    """The result with the gradebook's scores (a test cell scored by hand keeps that score) and
    late penalty; the same object when nothing differs."""
    if recorded is None:
        return result
    scores, penalty = recorded
    items = []
    for item in result.items:
        score = scores.get(item.grade_id)
        items.append(item if score is None or score == item.score
                     else dataclasses.replace(item, score=float(score)))
    if items == result.items and penalty == result.late_penalty:
        return result
    return dataclasses.replace(result, items=items, late_penalty=float(penalty))


def not_submitted(term: Term, assignments: list[str], jobs: list[Job],
                  max_scores: dict) -> list[Result]:
    """A `not submitted` row (score 0) for every roster student with no job of an assignment."""
    from onebyone.tools.grading.result import Status

    have = {job.who for job in jobs}
    return [Result(student, assignment, "", Status.NOT_SUBMITTED, [], [],
                   max_score=max_scores.get(assignment, 0.0))
            for assignment in assignments for student in term.student_ids
            if (student, assignment) not in have]



def coursedir(term: Term):
    """nbgrader's CourseDirectory of the course, as its commands configure it."""
    from nbgrader.coursedir import CourseDirectory

    found = CourseDirectory(config=term.config)
    if not term.config.CourseDirectory.get("root"):
        found.root = str(term.course)
    return found


def leave_nbgrader_layout(term: Term, found: intake.Intake, jobs: list[Job], results: dict,
                          out: pathlib.Path, assignments: set[str], changed: set) -> dict:
    """What nbgrader's tools read, in the course folder (term/nbgrader_layout.py): the graded
    submissions in submitted/, autograded/ and feedback/ (exchange submissions) for each that
    is `changed` (graded now, or its page written again) or missing there, or whose submission
    was replaced in submitted/. Returns {"replaced": [...], "autograded": n written,
    "feedback": n written, "autograded_there": n, "feedback_there": n}: the run's submissions
    found there afterwards, written now or by an earlier run."""
    from onebyone.tools.grading.course import release_file
    from onebyone.tools.term import nbgrader_layout

    folders = coursedir(term)
    graded = {job.who for job in jobs if job.notebook and job.assignment in assignments}
    replaced = nbgrader_layout.lay_out_submitted(
        folders, [s for s in found.submissions if (s.student, s.assignment) in graded])
    written = {"autograded": 0, "feedback": 0}
    there = {"autograded": 0, "feedback": 0}
    for student, assignment in sorted(graded):
        result = results.get((student, assignment))
        released = release_file(term.course, assignment)
        if result is None or not released.is_file():
            continue
        submitted = nbgrader_layout.submitted_notebook(folders, student, assignment)
        made = nbgrader_layout.autograded_notebook_path(folders, student, assignment)
        fresh = (student, assignment) in changed or f"{student}/{assignment}" in replaced
        if fresh or not made.is_file() or made.stat().st_mtime < submitted.stat().st_mtime:
            # else as an earlier run left it: 50,000 notebooks are not rewritten each run
            if nbgrader_layout.write_autograded(folders, result, released, submitted):
                written["autograded"] += 1
            page = out / "feedback" / student / assignment / f"{assignment}.html"
            if page.is_file() and nbgrader_layout.write_feedback(folders, page, student,
                                                                 assignment, submitted):
                written["feedback"] += 1
        there["autograded"] += made.is_file()
        there["feedback"] += nbgrader_layout.feedback_page_path(
            folders, student, assignment).is_file()
    return {"replaced": replaced, **written,
            **{f"{kind}_there": n for kind, n in there.items()}}


def layout_summary(layout: dict, course: pathlib.Path) -> str:
    """The run's last word on nbgrader's folders: what is there for this run's submissions, and
    how much of it this run wrote (a second run over unchanged submissions writes nothing)."""
    def count(kind):
        return (f"{layout[kind + '_there']} in {kind}/ ({layout[kind]} written this run)")

    return (f"For nbgrader's tools (formgrader, generate_feedback, release_feedback, export) in "
            f"{course}: {count('autograded')}"
            + (f", {count('feedback')}" if layout["feedback_there"] else "")
            + "".join(f"\n  replaced in submitted/: {r}" for r in layout["replaced"]) + "\n")
