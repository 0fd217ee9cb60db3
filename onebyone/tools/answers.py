"""The instructor's reference, on the instructor's side only (never in the student's kit).

The reference code of every graded item lives in one place: the solution cells of
solutions/<id>/<id>.ipynb. This module runs them into a namespace and answers the checks'
reference calls from it (`live`): the hidden tests use it on fresh random inputs. At release
(`onebyone exercises`), `record` runs the public tests against the reference and stores every
output they asked for in the kit (onebyone/checks/data/<id>.npz), so that a student's public
tests compare with stored outputs and no reference code leaves the course folder.
"""

import contextlib
import functools
import io
import pathlib

import nbformat

from onebyone.checks import reference, roles
from onebyone.tools import environment

HIDDEN = "### BEGIN HIDDEN TESTS"
# Recipes: a check's generic procedure run on a reference object of the solution
# ("recipe:Name"), registered by the checks that need one.
RECIPES = {"module": roles.module_record}
# {assignment: its source notebook's cells} held in memory by a grading worker, which reads no
# disk inside the fence (grading/worker.py): `live` reads the solutions there, not in a folder
_HELD: dict[str, list] = {}


def hold(notebooks: dict[str, list]) -> None:
    """Answer `live(id)` (without a `root`) from these source notebooks' cells from now on."""
    _HELD.update(notebooks)
    solution_namespace.cache_clear()


def _cells(assignment, root):
    path = pathlib.Path(root) / "solutions" / assignment / f"{assignment}.ipynb"
    return nbformat.read(path, as_version=4).cells


def _grading(cell):
    return cell.metadata.get("nbgrader", {})


def _run(cells, namespace):
    for cell in cells:
        exec(compile(cell.source, f"<{_grading(cell).get('grade_id', 'cell')}>", "exec"),
             namespace)


@functools.cache
def solution_namespace(assignment, root=None):
    """The names the solution notebook defines: its setup cell and its solution cells, run."""
    if root is None and assignment in _HELD:
        cells = _HELD[assignment]
    else:
        cells = _cells(assignment, root or environment.course_root())
    namespace = {"__name__": f"reference_{assignment.replace('-', '_')}"}
    _run([c for c in cells if c.cell_type == "code" and not _grading(c).get("grade")],
         namespace)
    return namespace


class Live:
    """Answers reference calls with the solution's own code: `name` is a function of the
    solution, or "recipe:Name" for a check's recipe run on the solution's `Name`."""

    def __init__(self, namespace):
        self.namespace = namespace
        self.records = {}  # a recipe's result by call: a module's record is costly to make

    def __call__(self, name, *args):
        recipe, _, target = name.rpartition(":")
        if not recipe:
            return self.namespace[name](*args)
        key = reference.digest(name, args)
        if key not in self.records:
            self.records[key] = RECIPES[recipe](self.namespace[target], *args)
        return self.records[key]


def live(assignment, root=None):
    """`with live(id):` the checks use the instructor's reference (the hidden tests' door)."""
    return reference.using(Live(solution_namespace(assignment, root)))


def record(assignment, root=None):
    """Run the public tests of `assignment` on its reference solution, recording every reference
    output they use; write them to the kit's data. Returns the number of outputs stored."""
    root = root or environment.course_root()
    cells = _cells(assignment, root)
    namespace = {"__name__": f"record_{assignment.replace('-', '_')}"}
    recorder = reference.Recorder(Live(solution_namespace(assignment, root)))
    public = [c for c in cells if c.cell_type == "code" and HIDDEN not in c.source]
    with reference.using(recorder), contextlib.redirect_stdout(io.StringIO()):
        _run(public, namespace)
    reference.DATA.mkdir(exist_ok=True)
    reference.save(recorder.records, reference.DATA / f"{assignment}.npz")
    return len(recorder.records)
