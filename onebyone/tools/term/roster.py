"""The class list: nbgrader's student CSV (`id,first_name,last_name,email`, what
`nbgrader db student import` reads) plus an optional `lms_id` column, the student's id on the
learning platform (Canvas's user id, Moodle's participant id). nbgrader keeps that id in its
`lms_user_id` column, and that name is accepted too.

A bad roster is one clear line (`BadRoster`), never a half-imported class.
"""

import csv
import dataclasses
import io
import pathlib

from nbgrader.api import Gradebook

REQUIRED = ("id",)
OPTIONAL = ("first_name", "last_name", "email", "lms_id")
ALIASES = {"lms_user_id": "lms_id"}  # nbgrader's own column name for the same thing


class BadRoster(Exception):
    """The roster cannot be used (the message says where and why, in one line)."""


@dataclasses.dataclass(frozen=True)
class Student:
    """One row of the roster; empty cells are None, as nbgrader's import stores them."""

    id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    lms_id: str | None = None

    @property
    def full_name(self) -> str:
        """'First Last', as Moodle names a student's folder."""
        return " ".join(p for p in (self.first_name, self.last_name) if p)


def read(path: pathlib.Path) -> list[Student]:
    """The students of the roster at `path`, in its order."""
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8-sig")  # Excel writes a BOM
    except FileNotFoundError:
        raise BadRoster(f"roster {path}: no such file") from None
    except IsADirectoryError:
        raise BadRoster(f"roster {path}: is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise BadRoster(f"roster {path}: not UTF-8 text (save it as CSV UTF-8)") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise BadRoster(f"roster {path}: empty; expected a header id,first_name,last_name,"
                        "email[,lms_id]")
    header = [ALIASES.get(h.strip(), h.strip()) for h in rows[0]]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown or "id" not in header or len(set(header)) != len(header):
        problem = (f"unknown column(s) {', '.join(unknown)}" if unknown else
                   "no id column" if "id" not in header else "a column is named twice")
        raise BadRoster(f"roster {path}: {problem}; expected columns "
                        f"{','.join(REQUIRED + OPTIONAL)} (as nbgrader db student import reads)")
    students, seen_ids, seen_lms = [], {}, {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line, as spreadsheets leave at the end
        if len(row) != len(header):
            raise BadRoster(f"roster {path}, line {line}: {len(row)} cells, the header has "
                            f"{len(header)}")
        values = {k: (v.strip() or None) for k, v in zip(header, row, strict=True)}
        student = Student(**values)
        if not student.id:
            raise BadRoster(f"roster {path}, line {line}: empty id")
        if "/" in student.id or student.id.startswith("."):
            # the id names nbgrader's folders submitted/<id>/, autograded/<id>/
            raise BadRoster(f"roster {path}, line {line}: id {student.id!r} cannot name a folder")
        if student.id in seen_ids:
            raise BadRoster(f"roster {path}, line {line}: id {student.id} is already on line "
                            f"{seen_ids[student.id]}")
        if student.lms_id and student.lms_id in seen_lms:
            raise BadRoster(f"roster {path}, line {line}: lms_id {student.lms_id} is already on "
                            f"line {seen_lms[student.lms_id]}")
        seen_ids[student.id] = line
        if student.lms_id:
            seen_lms[student.lms_id] = line
        students.append(student)
    if not students:
        raise BadRoster(f"roster {path}: a header and no students")
    return students


def import_into(gradebook: Gradebook, students: list[Student]) -> None:
    """Add or update every student in nbgrader's gradebook, as `nbgrader db student import`
    does (same method, same columns; the platform id in nbgrader's `lms_user_id`)."""
    for s in students:
        gradebook.update_or_create_student(s.id, first_name=s.first_name, last_name=s.last_name,
                                           email=s.email, lms_user_id=s.lms_id)
