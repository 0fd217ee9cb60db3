"""`onebyone grade` on one mixed class: honest, wrong, broken and hostile submissions graded in
one run (two workers). Every expected score is computed a second way: by running the notebook's
code and the instructor's tests in this process (for the honest variant of each sample)."""

import copy
import hashlib

import grading_samples as samples
import pytest
from nbgrader.api import Gradebook

from onebyone.tools import cli

A = samples.ASSIGNMENT
CONV, FC, FOLD = samples.CONV_ITEM, samples.FC_ITEM, samples.FOLD_ITEM
CONV_AND_FOLD_TESTS = samples.CONV_TESTS | samples.FOLD_TESTS  # what wrong() gets wrong
# Seconds per submission. The mixed class: a budget no submission in it needs, however loaded the
# machine (honest ones take about one second idle; a run ends when its submissions do, so a large
# budget costs nothing). The submissions that never end are graded in a run of their own with a
# short budget, which they exceed whatever the load. Speed is measured in `make bench`.
TIMEOUT = 300
STOP_AFTER = 6
ROOT = samples.ROOT

NOISE = '''import sys, warnings
print("a student's debugging line", file=sys.stderr)
sys.stderr.write("x" * 5000)
warnings.warn("a warning at the top level")
np.log(np.zeros(3))  # numpy: divide by zero (RuntimeWarning)'''


def wrong(conv=True, fold=True):
    """The honest notebook with a wrong conv1x1 and/or a wrong fold_1x1."""
    notebook = samples.honest(A)
    if conv:
        samples.set_code(notebook, CONV, samples.WRONG_CONV)
    if fold:
        samples.set_code(notebook, FOLD, samples.WRONG_FOLD)
    return notebook


def without(notebook, *grade_ids):
    """The notebook with these solution cells emptied (what a stopped run could not reach)."""
    for grade_id in grade_ids:
        samples.set_code(notebook, grade_id, "")
    return notebook


def drop_tests(notebook):
    notebook.cells = [c for c in notebook.cells
                      if not c.metadata.get("nbgrader", {}).get("grade")]
    return notebook


def edit_tests(notebook, code):
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = code(cell.source)
    return notebook


# --- hostile code -----------------------------------------------------------------------------

PATCH_COMPARISONS = '''import builtins, numpy, torch
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
builtins.all = lambda *a, **k: True
builtins.abs = lambda x: 0
import onebyone.checks.core as core, onebyone.checks.one_by_one as obo
core.compare_arrays = core.check_equal = lambda *a, **k: None
obo.compare_arrays = obo.check_equal = lambda *a, **k: None
''' + samples.PATCH_CHECKS
PATCH_ISINSTANCE = '''import builtins
builtins.isinstance = lambda obj, kind: True'''
ALWAYS_EQUAL = '''class Liar(np.ndarray):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

''' + samples.ALWAYS_EQUAL_CONV
HIDE_EXCEPTIONS = '''import sys
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
sys.excepthook = lambda *args: None'''


def snoop(paths_to_read, paths_to_write):
    """A cell that tries to read the instructor's files and to rewrite or delete them; its
    fold_1x1 is right only if it managed to read the hidden tests or another's work."""
    return f'''import os
stolen = ""
for path in {[str(p) for p in paths_to_read]!r}:
    try:
        stolen += open(path, encoding="utf-8", errors="replace").read()
    except Exception:
        pass
for path in {[str(p) for p in paths_to_write]!r}:
    for attempt in (lambda: open(path, "a").write("pwned"), lambda: os.remove(path),
                    lambda: os.chmod(path, 0o777)):
        try:
            attempt()
        except Exception:
            pass
''' + samples.SNOOPED_FOLD


def digest(paths):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


# --- the class ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the mixed class once; returns what the tests look at."""
    base = tmp_path_factory.mktemp("grading")
    course = samples.copy_course(base / "course", [A])
    folder, out = base / "submitted", base / "out"
    honest = samples.honest(A, course)
    cases = {}  # student -> (submission, notebook whose reference scores are expected, status)

    def case(student, submission, expected, status="graded", attacked=()):
        cases[student] = dict(submission=submission, expected=expected, status=status,
                              attacked=set(attacked))

    text = samples.dumps
    case("honest", text(honest), honest)
    noisy = samples.honest(A, course)
    samples.set_code(noisy, CONV, samples.solution_code(A, CONV, course)
                     + samples.NOISY_CONV_SUFFIX)
    samples.set_code(noisy, FC, samples.NOISY_FC_PREFIX + samples.solution_code(A, FC, course))
    samples.add_after(noisy, "setup", NOISE)
    case("noisy", text(noisy), noisy)
    for name in ("wrong", "wrong_again", "wrong_third"):  # the same bytes, graded three times
        case(name, text(wrong()), wrong())

    # broken submissions
    case("malformed", '{"cells": [{"cell_type": "code", "source": ', None, "invalid notebook")
    case("missing", None, None, "missing notebook")
    case("misnamed", ("Untitled.ipynb", text(honest)), None, "missing notebook")
    duplicated = samples.honest(A, course)
    for cell in [c for c in duplicated.cells if c.metadata.get("nbgrader", {}).get("grade")]:
        duplicated.cells.append(copy.deepcopy(cell))
    duplicated.cells[-1].source = "pass"
    case("duplicated", text(duplicated), honest)
    case("deleted_tests", text(drop_tests(wrong())), wrong())
    case("edited_tests", text(edit_tests(wrong(), lambda code: "pass")), wrong())
    retyped = samples.honest(A, course)
    for cell in retyped.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in ("test_conv1x1_hidden", FOLD):
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    case("retyped_cells", text(retyped), without(samples.honest(A, course), FOLD))
    case("sys_exit", text(samples.add_after(samples.honest(A, course), CONV,
                                            "import sys\nsys.exit('bye')")), honest)
    case("os_exit", text(samples.add_after(samples.honest(A, course), FOLD,
                                           "import os\nos._exit(3)")),
         without(samples.honest(A, course), FOLD), "kernel died")
    bomb = samples.add_after(samples.honest(A, course), "setup",
                             "def bomb():\n    blocks = []\n    while True:\n"
                             "        blocks.append(np.empty(2**24))  # not touched: fast\n"
                             "bomb()")
    samples.add_after(bomb, CONV, "huge = np.ones((10**6, 10**6))")
    case("memory_bomb", text(bomb), honest, "memory limit")

    # hostile submissions: wrong answers with an attack
    case("patch_comparisons", text(samples.add_after(wrong(), "setup", PATCH_COMPARISONS)),
         wrong(), attacked=CONV_AND_FOLD_TESTS)
    case("patch_isinstance", text(samples.add_after(wrong(), "setup", PATCH_ISINSTANCE)),
         wrong(), status=None, attacked=CONV_AND_FOLD_TESTS)
    always_equal = samples.set_code(samples.honest(A, course), CONV, ALWAYS_EQUAL)
    samples.set_code(always_equal, FOLD, samples.ALWAYS_EQUAL_FOLD)
    case("always_equal", text(always_equal), wrong(), attacked=CONV_AND_FOLD_TESTS)
    blanker = samples.set_code(samples.honest(A, course), FOLD, samples.BLANK_LATER_CELLS)
    case("blank_later_cells", text(blanker), wrong(conv=False), attacked=samples.FOLD_TESTS)
    hider = edit_tests(samples.add_after(wrong(), "setup", HIDE_EXCEPTIONS),
                       lambda code: "try:\n" + "\n".join("    " + ln for ln in code.splitlines())
                       + "\nexcept BaseException:\n    pass")
    case("hide_exceptions", text(hider), wrong(), attacked=CONV_AND_FOLD_TESTS)
    reference = samples.set_code(samples.honest(A, course), CONV, samples.USES_REFERENCE_CONV)
    samples.set_code(reference, FOLD, samples.USES_REFERENCE_FOLD)
    case("uses_reference", text(reference), wrong(), attacked=CONV_AND_FOLD_TESTS)
    case("forged_checks", text(samples.set_code(samples.honest(A, course), CONV,
                                                samples.FORGED_CHECKS)),
         wrong(fold=False), attacked=samples.CONV_TESTS)
    case("uses_torch", text(samples.set_code(samples.honest(A, course), CONV,
                                             samples.USES_TORCH)),
         wrong(fold=False), attacked=samples.CONV_TESTS)

    # a submission that goes after the instructor's files
    source_nb = course / "solutions" / A / f"{A}.ipynb"
    protected = [source_nb, course / "exercises" / A / f"{A}.ipynb",
                 folder / "honest" / A / f"{A}.ipynb", ROOT / "onebyone" / "layers.py",
                 ROOT / "onebyone" / "checks" / "one_by_one.py"]
    snooper = samples.set_code(samples.honest(A, course), FOLD, snoop(
        [source_nb, folder / "honest" / A / f"{A}.ipynb", course / "gradebook.db",
         out / "journal.jsonl", ROOT / "solutions" / A / f"{A}.ipynb"],
        [*protected, course / "gradebook.db", out / "journal.jsonl"]))
    case("snoop", text(snooper), without(samples.honest(A, course), FOLD),
         attacked=samples.FOLD_TESTS)

    samples.write_class(folder, A, {s: c["submission"] for s, c in cases.items()})
    before = digest(protected)
    code = cli.main(["grade", str(folder), "--out", str(out), "--jobs", "2", "--course",
                     str(course), "--timeout", str(TIMEOUT)])
    return dict(cases=cases, code=code, out=out, folder=folder, course=course,
                before=before, protected=protected, after=digest(protected))


def never_ending(course):
    """{student: (submission, the notebook whose plain run it cannot beat, the items it stops)}:
    a cell that loops forever, and cells that sleep 1.5 times the submission's budget."""
    text = samples.dumps
    looping = samples.add_after(samples.honest(A, course), FC, "while True:\n    pass")
    slow = samples.honest(A, course)
    for _ in range(3 * STOP_AFTER):
        samples.add_after(slow, "test_fc_as_conv_hidden", "import time\ntime.sleep(0.5)")
    return {"infinite_loop": (text(looping), without(samples.honest(A, course), FC, FOLD),
                              samples.FC_TESTS | samples.FOLD_TESTS),
            "slow_cells": (text(slow), without(samples.honest(A, course), FOLD),
                           samples.FOLD_TESTS)}


@pytest.fixture(scope="module")
def timed(tmp_path_factory):
    """The never-ending submissions, graded with a budget of STOP_AFTER seconds."""
    base = tmp_path_factory.mktemp("timed")
    course = samples.copy_course(base / "course", [A])
    folder, out = base / "submitted", base / "out"
    cases = never_ending(course)
    samples.write_class(folder, A, {s: c[0] for s, c in cases.items()})
    code = cli.main(["grade", str(folder), "--out", str(out), "--jobs", "2", "--course",
                     str(course), "--timeout", str(STOP_AFTER)])
    return dict(cases=cases, code=code, out=out, course=course)


@pytest.mark.parametrize("student", ["infinite_loop", "slow_cells"])
def test_a_submission_that_never_ends_is_stopped_and_keeps_what_it_earned(timed, student):
    """Stopped at its budget: "timed out", the items it never reached score zero, and no item
    more than a plain run of the notebook's code gives (as much, when the machine keeps up)."""
    submission, expected, stopped = timed["cases"][student]
    row = next(r for r in rows(timed) if r["student_id"] == student)
    assert timed["code"] == 1 and row["status"] == "timed out", row
    scores = items_of(timed, student)
    deserved = samples.reference_scores(expected, A, timed["course"])
    assert set(scores) == set(deserved)
    for grade_id, score in scores.items():
        assert score <= deserved[grade_id], (grade_id, row)
        if grade_id in stopped:
            assert score == 0, (grade_id, row)


def rows(graded, name="grades.csv"):
    return samples.read_csv(graded["out"] / name)


def items_of(graded, student):
    return {r["grade_id"]: float(r["score"]) for r in rows(graded, "items.csv")
            if r["student_id"] == student}


def test_every_submission_has_one_row_and_the_run_reports_failure(graded):
    table = rows(graded)
    assert sorted(r["student_id"] for r in table) == sorted(graded["cases"])
    assert graded["code"] == 1  # some submissions could not be graded normally
    assert all(r["assignment_id"] == A for r in table)


@pytest.mark.parametrize("student", [
    "honest", "noisy", "wrong", "wrong_again", "wrong_third", "duplicated", "deleted_tests",
    "edited_tests", "retyped_cells", "sys_exit", "os_exit", "memory_bomb", "malformed",
    "missing", "misnamed"])
def test_scores_match_a_plain_run_of_the_honest_version(graded, student):
    """Honest, wrong and broken submissions: each item scores what a plain run of the
    notebook's code with the instructor's tests gives (zero for what a fault stopped)."""
    case = graded["cases"][student]
    row = next(r for r in rows(graded) if r["student_id"] == student)
    assert row["status"] == case["status"], row
    scores = items_of(graded, student)
    if case["expected"] is None:
        assert float(row["score"]) == 0 and set(scores.values()) == {0.0}
        return
    expected = samples.reference_scores(case["expected"], A, graded["course"])
    assert scores == expected
    assert float(row["score"]) == sum(expected.values())


def test_honest_work_gets_full_marks_despite_warnings_and_stderr(graded):
    table = {r["student_id"]: r for r in rows(graded)}
    for student in ("honest", "noisy", "duplicated", "sys_exit", "memory_bomb"):
        assert float(table[student]["score"]) == float(table[student]["max_score"]) == 10


def test_the_same_submission_gets_the_same_score(graded):
    table = {r["student_id"]: r["score"] for r in rows(graded)}
    assert table["wrong"] == table["wrong_again"] == table["wrong_third"]
    assert float(table["wrong"]) < 10


def test_broken_submissions_say_why(graded):
    table = {r["student_id"]: r for r in rows(graded)}
    assert "Untitled.ipynb" in table["misnamed"]["note"]
    assert "more than once" in table["duplicated"]["note"]
    assert "deleted: restored" in table["deleted_tests"]["note"]
    assert "changed: restored" in table["edited_tests"]["note"]
    assert "changed to markdown" in table["retyped_cells"]["note"]
    assert "SystemExit" in table["sys_exit"]["note"]
    assert "MemoryError" in table["memory_bomb"]["note"]


@pytest.mark.parametrize("student", [
    "patch_comparisons", "patch_isinstance", "always_equal", "blank_later_cells",
    "hide_exceptions", "uses_reference", "forged_checks", "uses_torch", "snoop"])
def test_hostile_submissions_get_no_undeserved_points(graded, student):
    """Each attacked item scores zero; no item scores more than the honest part deserves."""
    case = graded["cases"][student]
    row = next(r for r in rows(graded) if r["student_id"] == student)
    if case["status"] is not None:
        assert row["status"] in (case["status"], "tampering detected"), row
    scores = items_of(graded, student)
    deserved = samples.reference_scores(case["expected"], A, graded["course"])
    for grade_id, score in scores.items():
        assert score <= deserved[grade_id], (grade_id, row)
        if grade_id in case["attacked"]:
            assert score == 0, (grade_id, row)


def test_forbidden_calls_are_named_in_the_feedback(graded):
    messages = {(r["student_id"], r["grade_id"]): r["message"] for r in rows(graded, "items.csv")}
    assert "onebyone" in messages[("uses_reference", "test_conv1x1_public")]
    assert "torch" in messages[("uses_torch", "test_conv1x1_hidden")]
    assert "check" in messages[("forged_checks", "test_conv1x1_public")]


def test_the_instructors_files_are_untouched_and_unread(graded):
    assert graded["after"] == graded["before"]
    assert items_of(graded, "snoop")["test_fold_1x1_hidden"] == 0  # read nothing
    journal = (graded["out"] / "journal.jsonl").read_text(encoding="utf-8")
    assert "pwned" not in journal
    # the course's gradebook, the one nbgrader's commands read (no other is made)
    assert not (graded["out"] / "gradebook.db").exists()
    assert b"pwned" not in (graded["course"] / "gradebook.db").read_bytes()


def test_the_gradebook_holds_the_same_scores(graded):
    table = rows(graded)
    with Gradebook(f"sqlite:///{graded['course'] / 'gradebook.db'}") as gradebook:
        for row in table:
            if row["status"] in ("missing notebook",):
                continue
            submission = gradebook.find_submission(A, row["student_id"])
            assert submission.score == pytest.approx(float(row["score"])), row


def test_feedback_shows_messages_but_never_hidden_tests(graded):
    source = samples.source_notebook(A, graded["course"])
    hidden_lines = set()
    for cell in source.cells:
        text = cell.source
        if "### BEGIN HIDDEN TESTS" in text:
            block = text.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            hidden_lines |= {ln.strip() for ln in block.splitlines() if len(ln.strip()) > 8}
    assert hidden_lines
    pages = list((graded["out"] / "feedback").glob(f"*/{A}/{A}.html"))
    assert len(pages) == len(graded["cases"])
    for page in pages:
        html_text = page.read_text(encoding="utf-8")
        for line in hidden_lines:
            assert line not in html_text, (page, line)
    wrong_page = (graded["out"] / "feedback" / "wrong" / A / f"{A}.html").read_text()
    assert "failed" in wrong_page and "passed" in wrong_page
    assert "bias" in wrong_page  # the check's message names the likely mistake


def test_a_second_run_grades_nothing_again_and_changes_nothing(graded, capsys):
    before = (graded["out"] / "grades.csv").read_bytes()
    journal_lines = (graded["out"] / "journal.jsonl").read_text().count("\n")
    code = cli.main(["grade", str(graded["folder"]), "--out", str(graded["out"]), "--jobs", "2",
                     "--course", str(graded["course"]), "--timeout", str(TIMEOUT)])
    assert code == graded["code"]
    assert (graded["out"] / "grades.csv").read_bytes() == before
    assert (graded["out"] / "journal.jsonl").read_text().count("\n") == journal_lines
    assert f"0 now, {len(graded['cases'])} unchanged" in capsys.readouterr().err
