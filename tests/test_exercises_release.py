"""exercises/ is exactly nbgrader's release of solutions/, without outputs, solutions or hidden
tests, and every exercise is in the book."""

import json
import re

import nbformat
import pytest
from graded_course import course

from onebyone.tools.release import ROOT, assignments

ASSIGNMENTS = assignments()
# One nbgrader course per session: with pytest-xdist (--dist loadgroup) keep these tests together.
pytestmark = pytest.mark.xdist_group("nbgrader-course")
REGIONS = {
    "solution": re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S),
    "hidden test": re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S),
}


def notebook_path(folder, assignment):
    return folder / assignment / f"{assignment}.ipynb"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_what_nbgrader_generates(assignment):
    committed = notebook_path(ROOT / "exercises", assignment)
    assert committed.exists(), f"{committed} is missing: run `make exercises`"
    generated = notebook_path(course() / "exercises", assignment)
    assert json.loads(committed.read_text()) == json.loads(generated.read_text()), (
        f"exercises/{assignment} is stale: run `make exercises` and commit the result")


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebooks_are_committed_without_outputs(folder, assignment):
    notebook = nbformat.read(notebook_path(ROOT / folder, assignment), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_or_hidden_test(assignment):
    source = notebook_path(ROOT / "solutions", assignment).read_text()
    release = nbformat.read(notebook_path(ROOT / "exercises", assignment), as_version=4)
    code = "\n".join(cell.source for cell in release.cells)
    assert "BEGIN SOLUTION" not in code and "HIDDEN TESTS" not in code
    solution = nbformat.reads(source, as_version=4)
    found = {kind: 0 for kind in REGIONS}
    for cell in solution.cells:
        for kind, region in REGIONS.items():
            for body in region.findall(cell.source):
                found[kind] += 1
                for line in body.splitlines():
                    line = line.strip()
                    if len(line) > 20 and not line.startswith("#"):
                        assert line not in code, f"the release shows the {kind} line {line!r}"
    assert found["solution"] and found["hidden test"], f"{assignment}: no regions found: {found}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_exercise_is_in_the_book(assignment):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"file: exercises/{assignment}/{assignment}" in toc


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_sample_line_and_the_chapter_link_work_outside_the_repository(assignment):
    """The intro's sample ✓ line is what the first public test cell prints, and the chapter link
    points at the site (a downloaded notebook has no ../../chapters folder)."""
    import contextlib
    import io

    from onebyone.tools import kit

    release = nbformat.read(notebook_path(ROOT / "exercises", assignment), as_version=4)
    intro = release.cells[0].source
    sample = re.search(r"such as `(✓ [^`]+)`", intro).group(1)
    assert f"]({kit.site_address(ROOT)}/chapters/{assignment}.html)" in intro
    assert "../../chapters" not in intro and "nbgrader validate" not in intro
    source = nbformat.read(notebook_path(ROOT / "solutions", assignment), as_version=4)
    namespace, printed = {"__name__": "__main__"}, io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in source.cells:
            if cell.cell_type == "code" and "HIDDEN TESTS" not in cell.source:
                exec(compile(cell.source, "cell", "exec"), namespace)
                if cell.metadata["nbgrader"].get("grade"):
                    break
    assert printed.getvalue().strip() == sample
