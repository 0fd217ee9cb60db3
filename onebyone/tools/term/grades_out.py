"""Grades out, one row per roster student, read from the gradebook (so a score set by hand in
formgrader and nbgrader's late penalty are in): as `nbgrader export` computes them (score after
the penalty, never below 0; not submitted = 0), and in the files the learning platforms import.

- Canvas (Grades > Import): `Student,ID,SIS User ID,SIS Login ID,Section` then one column per
  assignment, `name (Canvas assignment id)` when the id is known (Canvas matches the column to
  that assignment; without it Canvas offers to create a new one), a `Points Possible` row
  first as Canvas's own export has it; `ID` is Canvas's user id, the roster's `lms_id`.
- Moodle (Grades > Import > CSV file): the columns of Moodle's own grade export, `First name,
  Last name,ID number,Email address`, then one column per assignment; map `Email address` to
  the user's email on Moodle's import page (a participant id is per assignment, an email is not).
"""

import csv
import dataclasses
import datetime
import pathlib

from nbgrader.api import Gradebook, MissingEntry

from onebyone.tools import files
from onebyone.tools.grading.result import Status
from onebyone.tools.term.roster import Student

NOT_SUBMITTED = Status.NOT_SUBMITTED.value  # the status grades.csv gives the same student


@dataclasses.dataclass(frozen=True)
class Grade:
    """One student's grade for one assignment."""

    student: Student
    assignment: str
    status: str  # "graded" or "not submitted"
    raw_score: float
    late_penalty: float
    score: float  # after the penalty, as nbgrader's export: max(0, raw - penalty)
    max_score: float
    timestamp: datetime.datetime | None


def class_grades(gradebook: Gradebook, students: list[Student],
                 assignments: list[str]) -> list[Grade]:
    """Every (assignment, roster student) grade, in roster order per assignment."""
    grades = []
    for assignment in assignments:
        try:
            max_score = gradebook.find_assignment(assignment).max_score
        except MissingEntry:
            max_score = 0.0
        for student in students:
            try:
                submission = gradebook.find_submission(assignment, student.id)
            except MissingEntry:
                grades.append(Grade(student, assignment, NOT_SUBMITTED, 0.0, 0.0, 0.0,
                                    max_score, None))
                continue
            raw, penalty = submission.score, submission.late_submission_penalty
            grades.append(Grade(student, assignment, "graded", raw, penalty,
                                max(0.0, raw - penalty), max_score, submission.timestamp))
    return grades


def _number(value):
    return f"{value:g}"


def _write(path, rows):
    """Write rows atomically: a platform never sees half a file."""
    with files.written_whole(path) as partial, \
            open(partial, "w", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)
    return path


def _table(grades):
    """({student id: {assignment: Grade}}, assignments in order, students in order)."""
    table, assignments, students = {}, [], []
    for g in grades:
        if g.assignment not in assignments:
            assignments.append(g.assignment)
        if g.student not in students:
            students.append(g.student)
        table.setdefault(g.student.id, {})[g.assignment] = g
    return table, assignments, students


def canvas_csv(path: pathlib.Path, grades: list[Grade],
               canvas_ids: dict | None = None) -> pathlib.Path:
    """The Canvas gradebook import file. `canvas_ids`: {assignment: Canvas assignment id}."""
    table, assignments, students = _table(grades)
    canvas_ids = canvas_ids or {}
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + [
        f"{a} ({canvas_ids[a]})" if a in canvas_ids else a for a in assignments]
    first = next(iter(table.values()), {})
    points = ["Points Possible", "", "", "", ""] + [_number(first[a].max_score)
                                                   for a in assignments]
    rows = [header, points]
    for s in students:
        name = ", ".join(p for p in (s.last_name, s.first_name) if p) or s.id  # Canvas's sortable
        rows.append([name, s.lms_id or "", "", "", ""] +
                    [_number(table[s.id][a].score) for a in assignments])
    return _write(path, rows)


def moodle_csv(path: pathlib.Path, grades: list[Grade]) -> pathlib.Path:
    """The Moodle grade import file (columns of Moodle's own export)."""
    table, assignments, students = _table(grades)
    rows = [["First name", "Last name", "ID number", "Email address"] + assignments]
    for s in students:
        rows.append([s.first_name or "", s.last_name or "", s.id, s.email or ""] +
                    [_number(table[s.id][a].score) for a in assignments])
    return _write(path, rows)


def without_lms_id(students: list[Student]) -> list[str]:
    """Roster ids Canvas cannot match (no `lms_id`): the caller says so."""
    return [s.id for s in students if not s.lms_id]
