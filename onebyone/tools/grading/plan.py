"""What to run for one submission, rebuilt from the instructor's source notebook.

The source notebook (solutions/<id>/<id>.ipynb, hidden tests included) decides the cells and their
order. From the submission only the student's own work is taken: the solution cells (matched by
nbgrader grade_id) and cells the student added (kept after the source cell they followed).
Read-only and test cells always come from the source, so an edited, deleted, duplicated or
retyped test cell changes nothing; nbgrader's checksums say which ones were tampered with, for
the notes. Points per test cell come from the source's nbgrader metadata.
"""

import dataclasses
import json
import warnings

import nbformat
from nbgrader import utils

from onebyone.tools.grading.course import Source, cell_text, grade_id, nbgrader_metadata
from onebyone.tools.grading.wording import N_


@dataclasses.dataclass(frozen=True)
class Step:
    """One cell to run. `where`: "both" (read-only setup: the student process needs its imports,
    the grader its checks), "student" (the student's code) or "grader" (a test cell)."""

    where: str
    cell_id: str
    code: str
    points: float = 0.0


class InvalidNotebook(Exception):
    """The submitted file is not a readable notebook."""


def read_submission(data: bytes) -> dict:
    """The submitted notebook from its bytes, or InvalidNotebook with the reason."""
    try:
        with warnings.catch_warnings():  # duplicate cell ids and the like: nbformat fixes them
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        raise InvalidNotebook(f"not a notebook: {str(error)[:200]}") from None
    except Exception as error:
        reason = f"{type(error).__name__}: {str(error)[:200]}"
        raise InvalidNotebook(f"not a notebook: {reason}") from None
    if not isinstance(notebook.get("cells"), list):
        raise InvalidNotebook("not a notebook: no list of cells")
    return notebook


def build(source: Source, submission: dict) -> tuple[list[Step], list[str]]:
    """(steps, notes): the cells to run, in order, and what was restored or ignored."""
    notes = []
    solution_ids = {grade_id(c) for c in source.cells if utils.is_solution(c)}
    student_solutions, extra_after, seen, anchor = {}, {}, set(), None
    for cell in submission.cells:
        if not isinstance(cell, dict) or "cell_type" not in cell:
            continue
        gid = grade_id(cell)
        if gid in source.by_id:
            if gid in seen:
                notes.append(N_("cell {cell} appears more than once: only the first is used")
                             .format(cell=gid))
                continue
            seen.add(gid)
            anchor = gid
            if gid in solution_ids:
                student_solutions[gid] = cell
            continue
        if cell.get("cell_type") == "code" and cell_text(cell).strip():
            extra_after.setdefault(anchor, []).append(cell)

    steps = [Step("student", f"added cell {i + 1}", cell_text(c))
             for i, c in enumerate(extra_after.get(None, []))]
    added = len(steps)
    for cell in source.cells:
        gid = grade_id(cell)
        if cell.cell_type == "code" and gid in solution_ids:
            mine = student_solutions.get(gid)
            if mine is None:
                notes.append(N_("solution cell {cell} is missing").format(cell=gid))
            elif mine.get("cell_type") != "code":
                notes.append(N_("solution cell {cell} was changed to {cell_type}: not run")
                             .format(cell=gid, cell_type=mine.get("cell_type")))
            else:
                steps.append(Step("student", gid, cell_text(mine)))
        elif cell.cell_type == "code" and utils.is_grade(cell):
            points = float(nbgrader_metadata(cell).get("points", 0))
            steps.append(Step("grader", gid, cell.source, points))
        elif cell.cell_type == "code":
            steps.append(Step("both", gid or "setup", cell.source))
        if gid in source.released and not utils.is_solution(cell):
            notes.extend(_tampering_note(source.released_copies(gid), gid, seen, submission))
        for extra in extra_after.get(gid, []) if gid else []:
            added += 1
            steps.append(Step("student", f"added cell {added}", cell_text(extra)))
    return steps, notes


def _tampering_note(released_cells, gid, seen, submission):
    """A note when the student's copy of a read-only cell is missing or differs from every
    released one, in any language (nbgrader's checksums, computed here: the checksum stored in
    the submission is the student's to edit)."""
    if gid not in seen:
        return [N_("read-only cell {cell} was deleted: restored from the source").format(cell=gid)]
    mine = next(c for c in submission.cells if isinstance(c, dict) and grade_id(c) == gid)
    try:
        checksum = utils.compute_checksum(nbformat.from_dict(mine))
        same = any(mine.get("cell_type") == released.cell_type
                   and checksum == utils.compute_checksum(released) for released in released_cells)
    except Exception:  # metadata the checksum cannot read: it was edited
        same = False
    changed = N_("read-only cell {cell} was changed: restored from the source")
    return [] if same else [changed.format(cell=gid)]
