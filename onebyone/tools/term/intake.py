"""Submissions as they come: a learning platform's download or nbgrader's own layout, in a
folder or a zip, read into one typed list, with everything that could not be matched.

Three layouts, recognised file by file (a folder may mix them):

- Canvas ("Download Submissions"): flat files `<login>_<userid>_<submissionid>_<name>`, with
  `LATE_` after the login when Canvas marked the submission late, and `-1`, `-2` before the
  extension when a student resubmitted a file of the same name. The login is Canvas's sortable
  name (`lovelaceada`), not an id: the student is the roster row whose `lms_id` is the user id.
- Moodle ("Download all submissions"): a folder per student
  `<Full Name>_<participant id>_assignsubmission_file_/` holding the files under any name (or,
  without "download as folders", flat files `<Full Name>_<id>_assignsubmission_file_<name>`).
  The student is the roster row whose `lms_id` is that id, else the one whose full name it is.
- nbgrader (`nbgrader collect`, `zip_collect`): `[submitted/]<student>/<assignment>/
  <assignment>.ipynb`, with `timestamp.txt` beside it, read with nbgrader's own parser.

A platform download is one assignment: `assignment=` names it; without it, a file's own name
(Canvas's rename and Moodle's ` (1)` taken off) must be an assignment of the course.
Without a roster a platform's student is named by the platform's id.
"""

import dataclasses
import datetime
import pathlib
import re
import tempfile
import zipfile

from nbgrader.utils import parse_utc

from onebyone.tools.term.roster import Student

CANVAS = re.compile(r"^(?P<login>[^_/]+)_(?:(?P<late>LATE)_)?(?P<user>\d+)_(?P<submission>\d+)_"
                    r"(?P<name>.+)$")
# the platform's prefix comes first and the student's own file name after it: the patterns take
# the first prefix (non-greedy), so a file named like another student's cannot pass as theirs
MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<kind>[a-z]+)_$")
MOODLE_FILE = re.compile(r"^(?P<name>[^/]+?)_(?P<id>\d+)_assignsubmission_(?P<kind>[a-z]+)_"
                         r"(?P<file>.+)$")
CANVAS_RENAME = re.compile(r"-\d+$")  # one-by-one-1.ipynb: a resubmitted file of the same name
MOODLE_RENAME = re.compile(r" \(\d+\)$")  # one-by-one (1).ipynb: a browser's or Moodle's copy
IGNORED = {".ipynb_checkpoints", "__MACOSX", ".DS_Store", "Thumbs.db"}
NBGRADER_FILES = {"timestamp.txt", "submission_secret.txt"}


class CannotRead(Exception):
    """The submissions cannot be read at all (the message says why, in one line)."""


@dataclasses.dataclass(frozen=True)
class Submission:
    """One notebook to grade: whose, for which assignment, where, and when it came in.

    `submitted_at` is the time nbgrader recorded (naive UTC, as nbgrader's `parse_utc` gives
    it and its gradebook stores it), when there is one; `late` is the
    platform's own marker (Canvas's `LATE_`), which carries no time."""

    student: str
    assignment: str
    notebook: pathlib.Path
    layout: str  # "canvas", "moodle" or "nbgrader"
    submitted_at: datetime.datetime | None = None
    late: bool = False
    lms_id: str | None = None  # the platform's id of the student (Canvas user, Moodle participant)
    platform_name: str | None = None  # the name the platform gave (Canvas login, Moodle full name)


@dataclasses.dataclass(frozen=True)
class Unmatched:
    """A file that is not graded, and why (its path is relative to the submissions' root)."""

    path: str
    reason: str


@dataclasses.dataclass
class Intake:
    """What a folder or zip of submissions holds."""

    submissions: list[Submission]
    unmatched: list[Unmatched]
    root: pathlib.Path | None = None  # the folder the unmatched paths are relative to

    @property
    def layouts(self) -> list[str]:
        return sorted({s.layout for s in self.submissions})

    def nothing_matched(self) -> str | None:
        """One line naming what was found when no submission was (the caller exits 2), else
        None."""
        if self.submissions:
            return None
        if not self.unmatched:
            return "found no files at all"
        names = [u.path for u in self.unmatched]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        hint = "; name the assignment with --assignment" if any(
            "--assignment" in u.reason for u in self.unmatched) else ""
        return (f"found no submission among {len(names)} file(s) ({shown}): expected a Canvas "
                "download (login_userid_submissionid_name), a Moodle download (Full Name_id_"
                "assignsubmission_file_/) or nbgrader's student/assignment/assignment.ipynb"
                + hint)


class _People:
    """The roster's lookups: platform id -> student, full name -> student."""

    def __init__(self, roster):
        self.roster = roster
        self.by_lms = {s.lms_id: s.id for s in roster or () if s.lms_id}
        names = {}
        for s in roster or ():
            names.setdefault(s.full_name.casefold(), []).append(s.id)
        self.by_name = {n: ids[0] for n, ids in names.items() if n and len(ids) == 1}

    def canvas(self, user_id):
        """(student, reason it failed)."""
        if self.roster is None:
            return user_id, None
        student = self.by_lms.get(user_id)
        return student, None if student else f"Canvas user {user_id} has no roster row (lms_id)"

    def moodle(self, participant, name):
        if self.roster is None:
            return participant, None
        student = self.by_lms.get(participant) or self.by_name.get(name.casefold())
        return student, None if student else (
            f"Moodle participant {participant} ({name}) matches no roster row (lms_id or name)")


def _assignment_of(filename, given, known, rename):
    """The assignment a platform file is for: `given`, else its own name when the course has an
    assignment of that name (the platform's rename taken off); (id, reason it failed)."""
    if given:
        return given, None
    stem = pathlib.PurePosixPath(filename).stem
    for candidate in (stem, rename.sub("", stem)):
        if candidate in known:
            return candidate, None
    return None, f"{filename} names no assignment of the course: give --assignment"


def _is_notebook(path):
    return path.suffix == ".ipynb"


def _relative_files(root):
    """Every file under `root` (sorted), skipping editor and archiver litter."""
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and not path.is_symlink() and not any(
                p in IGNORED or p.startswith("._") for p in parts):
            yield path, parts


def _canvas(path, match, people, assignment, known):
    if not _is_notebook(path):
        return Unmatched(path.name, "not a notebook (Canvas download)")
    student, why = people.canvas(match["user"])
    found, not_found = _assignment_of(match["name"], assignment, known, CANVAS_RENAME)
    if why or not_found:
        return Unmatched(path.name, why or not_found)
    return Submission(student, found, path, "canvas", late=bool(match["late"]),
                      lms_id=match["user"], platform_name=match["login"])


def _moodle(path, shown, match, filename, people, assignment, known):
    if match["kind"] != "file":
        return Unmatched(shown, f"Moodle {match['kind']} submission, not a file")
    if not _is_notebook(path):
        return Unmatched(shown, "not a notebook (Moodle download)")
    student, why = people.moodle(match["id"], match["name"])
    found, not_found = _assignment_of(filename, assignment, known, MOODLE_RENAME)
    if why or not_found:
        return Unmatched(shown, why or not_found)
    return Submission(student, found, path, "moodle", lms_id=match["id"],
                      platform_name=match["name"])


def _nbgrader(path, shown, parts, people, known):
    student, assignment, name = parts
    if name != f"{assignment}.ipynb":
        return Unmatched(shown, f"nbgrader layout: expected {assignment}/{assignment}.ipynb")
    if known and assignment not in known:
        return Unmatched(shown, f"{assignment} is no assignment of the course")
    if people.roster is not None and student not in {s.id for s in people.roster}:
        return Unmatched(shown, f"student {student} is not in the roster")
    stamp_file = path.parent / "timestamp.txt"
    submitted_at = None
    if stamp_file.is_file():
        text = stamp_file.read_text(encoding="utf-8", errors="replace").strip()
        try:
            submitted_at = parse_utc(text) if text else None
        except (ValueError, OverflowError):
            return Unmatched(shown, f"timestamp.txt is not a time nbgrader reads: {text[:40]!r}")
    return Submission(student, assignment, path, "nbgrader", submitted_at=submitted_at)


def read_folder(root: pathlib.Path, roster: list[Student] | None = None,
                assignment: str | None = None, known: frozenset = frozenset()) -> Intake:
    """The submissions under `root`. `roster`: the class (None: platform ids name students);
    `assignment`: the one a platform download is for; `known`: the course's assignment ids."""
    root = pathlib.Path(root)
    if [p.name for p in root.iterdir() if p.name not in IGNORED] == ["submitted"]:
        root = root / "submitted"  # nbgrader's course folder layout, zipped from one level up
    people = _People(roster)
    submissions, unmatched = [], []
    for path, parts in _relative_files(root):
        shown = "/".join(parts)
        found = None
        if len(parts) == 1 and (match := MOODLE_FILE.match(parts[0])):
            found = _moodle(path, shown, match, match["file"], people, assignment, known)
        elif len(parts) == 1 and (match := CANVAS.match(parts[0])):
            found = _canvas(path, match, people, assignment, known)
        elif len(parts) >= 2 and (match := MOODLE_FOLDER.match(parts[0])):
            found = _moodle(path, shown, match, parts[-1], people, assignment, known)
        elif len(parts) == 3 and parts[2] in NBGRADER_FILES:
            continue  # nbgrader's own files beside a notebook
        elif len(parts) == 3 and _is_notebook(path):
            found = _nbgrader(path, shown, parts, people, known)
        elif len(parts) == 2 and _is_notebook(path):
            found = Unmatched(shown, f"a notebook directly in {parts[0]}/: nbgrader expects "
                              f"{parts[0]}/<assignment>/<assignment>.ipynb")
        else:
            found = Unmatched(shown, "in no layout known here (Canvas, Moodle, nbgrader)"
                              + ("" if assignment else "; with --assignment, a platform "
                                 "download's files may have any name"))
        (submissions if isinstance(found, Submission) else unmatched).append(found)
    submissions, more = _one_per_student(submissions, root)
    return Intake(submissions, unmatched + more, root)


def _one_per_student(submissions, root):
    """One notebook per (student, assignment): the one named after the assignment, else the
    only one; several others are listed, not guessed between."""
    by_key = {}
    for s in submissions:
        by_key.setdefault((s.student, s.assignment), []).append(s)
    kept, dropped = [], []
    for (student, assignment), group in sorted(by_key.items()):
        if len(group) == 1:
            kept.append(group[0])
            continue
        named = [s for s in group if s.notebook.name == f"{assignment}.ipynb"
                 or CANVAS.match(s.notebook.name)
                 and CANVAS.match(s.notebook.name)["name"] == f"{assignment}.ipynb"]
        chosen = named[0] if len(named) == 1 else None
        if chosen:
            kept.append(chosen)
        for s in group:
            if s is not chosen:
                dropped.append(Unmatched(
                    str(s.notebook.relative_to(root)),
                    f"{len(group)} notebooks of {student} for {assignment}" +
                    (f"; graded {chosen.notebook.name}" if chosen else "; none chosen")))
    return kept, dropped


def read(source: pathlib.Path, work: pathlib.Path, roster: list[Student] | None = None,
         assignment: str | None = None, known: frozenset = frozenset()) -> Intake:
    """The submissions in `source`, a folder or a zip (unpacked safely into `work` first)."""
    source = pathlib.Path(source)
    if source.is_dir():
        return read_folder(source, roster, assignment, known)
    if zipfile.is_zipfile(source):
        from onebyone.tools.grading.submissions import BadSubmissions, unpack

        target = pathlib.Path(tempfile.mkdtemp(prefix="submissions-", dir=work))
        try:
            skipped = unpack(source, target)
        except BadSubmissions as error:
            raise CannotRead(str(error)) from None
        found = read_folder(target, roster, assignment, known)
        found.unmatched.extend(Unmatched(*s.split(": ", 1)) for s in skipped)
        return found
    if not source.exists():
        raise CannotRead(f"{source}: no such file or folder")
    raise CannotRead(f"{source}: neither a folder nor a zip file")


def write_submitted(submissions: list[Submission], target: pathlib.Path) -> list[str]:
    """Lay the submissions out as nbgrader's `submitted/` folder (what `nbgrader zip_collect`
    makes, and what `onebyone grade` and nbgrader's commands read):
    `target/<student>/<assignment>/<assignment>.ipynb`, with `timestamp.txt` in nbgrader's
    format when the time is known. Returns what replaced a different notebook already there."""
    from nbgrader.exchange.abc.exchange import Exchange

    stamp_format = Exchange.timestamp_format.default_value
    replaced = []
    for s in submissions:
        folder = pathlib.Path(target) / s.student / s.assignment
        folder.mkdir(parents=True, exist_ok=True)
        notebook = folder / f"{s.assignment}.ipynb"
        data = s.notebook.read_bytes()
        if notebook.is_file() and notebook.read_bytes() != data:
            replaced.append(f"{s.student}/{s.assignment}")
        partial = notebook.with_name(notebook.name + ".partial")
        partial.write_bytes(data)
        partial.replace(notebook)
        stamp = folder / "timestamp.txt"
        if s.submitted_at is not None:
            when = s.submitted_at.replace(tzinfo=datetime.timezone.utc)  # nbgrader's naive UTC
            stamp.write_text(when.strftime(stamp_format), encoding="utf-8")
        elif stamp.exists():
            stamp.unlink()  # an older submission's time is not this one's
    return replaced
