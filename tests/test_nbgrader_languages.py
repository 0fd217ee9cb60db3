"""Plain `nbgrader autograde` of a Chinese submission keeps its Chinese read-only cells.

nbgrader's OverwriteCells puts the source's (English) text back in every read-only cell whose
checksum is not the source's; the course's nbgrader_config.py replaces it with
onebyone.tools.translated_cells.OverwriteCellsAnyLanguage, which keeps a cell that is exactly a
translated release's copy. Graded here by nbgrader's own command in a throwaway course: the
Chinese notebook's autograded copy is the Chinese release's text with full marks, the English
one's is English, and an edited Chinese cell is still put back from the source.
"""

import shutil

import nbformat
import pytest
from course import ROOT, max_scores
from graded_course import _autograde, chinese_submission, course, solution_code, submission

A = "one-by-one"


def _cells(path):
    notebook = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("locked")}


@pytest.fixture(scope="module")
def autograded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nbgrader-languages") / "course"
    shutil.copytree(course(), folder)
    shutil.copytree(ROOT / "exercises" / A / "zh_CN", folder / "exercises" / A / "zh_CN")
    edited = nbformat.reads(chinese_submission(A, solution_code(A)), as_version=4)
    intro = next(c for c in edited.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                 == "intro")
    intro.source += "\n\n改过了。"
    scores = _autograde(folder, A, {"zh": chinese_submission(A, solution_code(A)),
                                    "en": submission(A, solution_code(A)),
                                    "edited": nbformat.writes(edited)})
    return folder, scores, max_scores(folder, A)


def test_a_chinese_submission_keeps_its_chinese_cells_and_full_marks(autograded):
    folder, scores, maxima = autograded
    assert scores["zh"] == scores["en"] == scores["edited"] == maxima
    chinese = _cells(ROOT / "exercises" / A / "zh_CN" / f"{A}.ipynb")
    english = _cells(ROOT / "exercises" / A / f"{A}.ipynb")
    got = {s: _cells(folder / "autograded" / s / A / f"{A}.ipynb") for s in ("zh", "en", "edited")}
    assert set(got["zh"]) == set(chinese) == set(english)
    differ = [gid for gid in english if english[gid].source != chinese[gid].source]
    assert "setup" in differ and len(differ) > 3  # the setup's language lines, the markdown
    assert {gid: c.source for gid, c in got["zh"].items()} == {
        gid: c.source for gid, c in chinese.items()}
    assert {gid: c.source for gid, c in got["en"].items()} == {
        gid: c.source for gid, c in english.items()}
    # an edited cell is no release's copy: nbgrader puts the source's text back, as it always did
    assert got["edited"]["intro"].source == english["intro"].source
    assert got["edited"]["setup"].source == chinese["setup"].source


def test_the_chinese_setup_ran_in_nbgraders_kernel(autograded):
    """The kept setup cell made the checks speak Chinese: the ✓ lines nbgrader recorded are
    the Chinese ones."""
    folder, _, _ = autograded
    notebook = nbformat.read(folder / "autograded" / "zh" / A / f"{A}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "✓" in printed and "项公开检查通过" in printed, printed[:500]
