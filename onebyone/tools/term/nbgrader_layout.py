"""What `onebyone grade` leaves in the course folder for nbgrader's own tools, as nbgrader's
commands would have left it (nbgrader's CourseDirectory names every path):

- `submitted/<student>/<id>/<id>.ipynb` with `timestamp.txt` (what `nbgrader collect` or
  `zip_collect` makes), for a platform's download or a folder elsewhere;
- `autograded/<student>/<id>/<id>.ipynb` (what `nbgrader autograde` writes: the release's
  cells with the student's answers, each test cell's outcome as its output, nbgrader's cell
  metadata) with the submission's `timestamp.txt`: formgrader lists a submission as autograded
  when this folder exists and the gradebook's timestamp is the one in `submitted/`;
- `feedback/<student>/<id>/<id>.html`, the student's page, with `timestamp.txt` and
  `submission_secret.txt` carried over from the submission, for a submission that came through
  nbgrader's exchange (it has a secret): `nbgrader release_feedback ID` hands them back.

The test cells in `autograded/` are the released ones (public tests): `nbgrader
generate_feedback` renders that notebook for students, so no hidden test goes in. What the
student wrote in markdown is kept as text, never as HTML: formgrader renders the notebook in the
instructor's session (tried here: an `<img onerror=...>` in a student's markdown cell ran there,
where a script can set grades through formgrader's web API), and nbconvert does not sanitise it.
"""

import pathlib
import shutil
import warnings

import nbformat

from onebyone.tools.grading.course import grade_id, nbgrader_metadata
from onebyone.tools.grading.result import Result
from onebyone.tools.term.intake import Submission, write_submitted

STAMP, SECRET = "timestamp.txt", "submission_secret.txt"


def _folder(coursedir, kind: str, student: str, assignment: str) -> pathlib.Path:
    """nbgrader's folder of a kind ("submitted", "autograded", "feedback") for a submission,
    as the course's configuration names it (`coursedir`: nbgrader's CourseDirectory)."""
    return pathlib.Path(coursedir.format_path(getattr(coursedir, f"{kind}_directory"), student,
                                              assignment))


def submitted_notebook(coursedir, student: str, assignment: str) -> pathlib.Path:
    return _folder(coursedir, "submitted", student, assignment) / f"{assignment}.ipynb"


def autograded_notebook_path(coursedir, student: str, assignment: str) -> pathlib.Path:
    return _folder(coursedir, "autograded", student, assignment) / f"{assignment}.ipynb"


def feedback_page_path(coursedir, student: str, assignment: str) -> pathlib.Path:
    return _folder(coursedir, "feedback", student, assignment) / f"{assignment}.html"


def _same_file(one: pathlib.Path, other: pathlib.Path) -> bool:
    if one.is_file() != other.is_file():
        return False
    return not one.is_file() or one.read_bytes() == other.read_bytes()


def _already_there(s: Submission, target: pathlib.Path) -> bool:
    """The submission is in submitted/ as it would be written (its notebook, the time nbgrader
    reads from timestamp.txt, its secret): left untouched, so is what was made from it."""
    from nbgrader.utils import parse_utc

    if not target.is_file() or target.read_bytes() != s.notebook.read_bytes():
        return False
    stamp = target.parent / STAMP
    try:
        there = parse_utc(stamp.read_text().strip()) if stamp.is_file() else None
    except (ValueError, OverflowError):
        return False
    return there == s.submitted_at and _same_file(s.notebook.parent / SECRET,
                                                  target.parent / SECRET)


def lay_out_submitted(coursedir, submissions: list[Submission]) -> list[str]:
    """The submissions in the course's `submitted/`, each with the exchange's
    submission_secret.txt when it has one (those already there are left as they are); returns
    what replaced a different notebook already there."""
    elsewhere = [s for s in submissions if s.notebook.resolve() != submitted_notebook(
        coursedir, s.student, s.assignment).resolve()
        and not _already_there(s, submitted_notebook(coursedir, s.student, s.assignment))]
    # nbgrader's default directory_structure, {nbgrader_step}/{student_id}/{assignment_id}
    replaced = write_submitted(elsewhere, pathlib.Path(coursedir.root) /
                               coursedir.submitted_directory)
    for s in elsewhere:
        target = submitted_notebook(coursedir, s.student, s.assignment).parent / SECRET
        if (s.notebook.parent / SECRET).is_file():
            shutil.copyfile(s.notebook.parent / SECRET, target)
        elif target.exists():
            target.unlink()  # another submission's secret
    return replaced


def _atomic_write(path: pathlib.Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _outcome(item) -> list:
    """A test cell's output as nbgrader's autograde leaves it: none when it passed, the error
    when it failed (nbgrader scores a cell with an error output zero). The autograder's verdict
    is its message (a failed test always has one), not the score: a score given by hand in the
    gradebook changes no output."""
    if item is None or not item.message:
        return []
    return [nbformat.v4.new_output("error", ename="AssertionError", evalue=item.message,
                                   traceback=[item.message])]


def autograded_notebook(released, submitted, result: Result):
    """The autograded notebook: the release's cells in its order, each solution cell holding
    the student's answer (their cells of their own kept after the graded cell they followed),
    each test cell the released test with this run's outcome as its output."""
    items = {item.grade_id: item for item in result.items}
    released_ids = {grade_id(c) for c in released.cells if grade_id(c)}
    answers, own, anchor = {}, {}, None
    for cell in submitted.cells:
        gid = grade_id(cell) if isinstance(cell, dict) else None
        if gid in released_ids:
            answers.setdefault(gid, cell)
            anchor = gid
        elif isinstance(cell, dict) and not gid and cell.get("cell_type") in (
                "code", "markdown", "raw"):
            own.setdefault(anchor, []).append(cell)
    cells = [_plain(c) for c in own.get(None, [])]
    for cell in released.cells:
        gid = grade_id(cell)
        made = nbformat.from_dict(dict(cell))
        if nbgrader_metadata(cell).get("solution") and gid in answers:
            made.source = _source(answers[gid])
            if made.cell_type == "markdown":  # a written answer: read as text
                made.source = inert_markdown(made.source)
            made.pop("attachments", None)
        if made.cell_type == "code":
            made.outputs = _outcome(items.get(gid)) if nbgrader_metadata(cell).get(
                "grade") and not nbgrader_metadata(cell).get("solution") else []
            made.execution_count = None
        cells.append(made)
        cells += [_plain(c) for c in own.get(gid, [])]
    notebook = nbformat.from_dict(dict(released))
    notebook.cells = cells
    return notebook


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def inert_markdown(text: str) -> str:
    """A student's markdown with no HTML left in it: every `<` as text, so no tag (a script,
    an event handler) can be rendered; the rest of markdown reads as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _plain(cell):
    """A cell of the student's own as formgrader may render it: its code without outputs (the
    grader did not make them), its markdown inert, a raw cell (rendered verbatim) as inert
    markdown, no attachments."""
    kind = cell.get("cell_type")
    if kind == "code":
        made = nbformat.v4.new_code_cell(_source(cell))
    else:
        made = nbformat.v4.new_markdown_cell(inert_markdown(_source(cell)))
    metadata = cell.get("metadata")
    made.metadata = dict(metadata) if isinstance(metadata, dict) and kind != "raw" else {}
    return made


def write_autograded(coursedir, result: Result, released_path: pathlib.Path,
                     submitted: pathlib.Path) -> pathlib.Path | None:
    """`autograded/<student>/<id>/<id>.ipynb` and its timestamp.txt (None when the submission
    is not a readable notebook: nbgrader's autograde writes nothing for it either)."""
    from onebyone.tools.grading.plan import InvalidNotebook, read_submission

    try:
        notebook = read_submission(submitted.read_bytes())
    except (OSError, InvalidNotebook):
        return None
    released = nbformat.read(released_path, as_version=4)
    folder = _folder(coursedir, "autograded", result.student, result.assignment)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.assignment}.ipynb"
    with warnings.catch_warnings():  # a student's duplicated cell ids: nbformat renumbers them
        warnings.simplefilter("ignore")
        text = nbformat.writes(autograded_notebook(released, notebook, result))
    _atomic_write(path, text)
    stamp = submitted.parent / STAMP
    if stamp.is_file():
        shutil.copyfile(stamp, folder / STAMP)
    elif (folder / STAMP).exists():
        (folder / STAMP).unlink()  # an older submission's time is not this one's
    return path


def write_feedback(coursedir, page: pathlib.Path, student: str, assignment: str,
                   submitted: pathlib.Path) -> pathlib.Path | None:
    """`feedback/<student>/<id>/` with the page, timestamp.txt and submission_secret.txt, for a
    submission that came through nbgrader's exchange (None for one that did not)."""
    secret, stamp = submitted.parent / SECRET, submitted.parent / STAMP
    if not (secret.is_file() and stamp.is_file()):
        return None
    target = feedback_page_path(coursedir, student, assignment)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(page, target)
    shutil.copyfile(stamp, folder / STAMP)
    shutil.copyfile(secret, folder / SECRET)
    return folder
