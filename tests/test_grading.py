"""`onebyone grade` on one mixed class: honest, wrong, broken and hostile submissions graded in
one run (two workers). Every expected score is computed a second way: by running the notebook's
code and the instructor's tests in this process (for the honest variant of each sample)."""

import copy
import hashlib

import grading_samples as samples
import pytest
from nbgrader.api import Gradebook

from onebyone.tools import cli

A = "one-by-one"
CONV = {"test_conv1x1_public", "test_conv1x1_hidden"}
LINEAR = {"test_linear_as_conv1x1_public", "test_linear_as_conv1x1_hidden"}
COST = {"test_conv1x1_cost_public", "test_conv1x1_cost_hidden"}
TIMEOUT = 8  # seconds per submission in this class: honest ones need about one
ROOT = samples.ROOT

WRONG_CONV = '''def conv1x1(x, weight, bias=None):
    return np.einsum("oc,nchw->nohw", weight, x)  # forgets the bias'''
WRONG_COST = '''def conv1x1_cost(h, w, c_in, c_out, bias):
    return c_in * c_out, c_in * c_out  # one pixel only'''
NOISE = '''import sys, warnings
print("a student's debugging line", file=sys.stderr)
sys.stderr.write("x" * 5000)
warnings.warn("a warning at the top level")
np.log(np.zeros(3))  # numpy: divide by zero (RuntimeWarning)'''
NOISY_CONV = '''import sys, warnings
def conv1x1(x, weight, bias=None):
    print("conv1x1 called", file=sys.stderr)
    warnings.warn("a warning in every call")
    np.sqrt(-np.ones(1))  # numpy: invalid value (RuntimeWarning)
    out = np.einsum("oc,nchw->nohw", weight, x)
    return out if bias is None else out + bias[None, :, None, None]'''
NOISY_LINEAR_PREFIX = '''import warnings
torch.tensor(torch.ones(2))  # torch: UserWarning about copy-constructing a tensor
warnings.warn("noise", DeprecationWarning)
'''


def wrong(conv=True, cost=True):
    """The honest notebook with a wrong conv1x1 and/or a wrong conv1x1_cost."""
    notebook = samples.honest(A)
    if conv:
        samples.set_code(notebook, "conv1x1", WRONG_CONV)
    if cost:
        samples.set_code(notebook, "conv1x1_cost", WRONG_COST)
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
check.conv1x1 = check.conv1x1_cost = check.linear_as_conv1x1 = lambda *a, **k: None'''
PATCH_ISINSTANCE = '''import builtins
builtins.isinstance = lambda obj, kind: True'''
ALWAYS_EQUAL = '''class Liar(np.ndarray):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

class LiarInt(int):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __hash__(self):
        return 0
    def __int__(self):
        return self

def conv1x1(x, weight, bias=None):
    return np.zeros((x.shape[0], weight.shape[0], *x.shape[2:])).view(Liar)'''
ALWAYS_EQUAL_COST = '''def conv1x1_cost(h, w, c_in, c_out, bias):
    return (LiarInt(0), LiarInt(0))'''
BLANK_LATER_CELLS = '''def conv1x1_cost(h, w, c_in, c_out, bias):
    return 0, 0
get_ipython().input_transformers_cleanup.append(lambda lines: [])'''
HIDE_EXCEPTIONS = '''import sys
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
sys.excepthook = lambda *args: None'''
USES_REFERENCE_CONV = '''from onebyone import layers
def conv1x1(x, weight, bias=None):
    return layers.conv1x1(x, weight, bias)'''
USES_REFERENCE_COST = '''def conv1x1_cost(h, w, c_in, c_out, bias):
    import importlib
    cost = importlib.import_module("onebyone.cost")
    return cost.conv_params(c_in, c_out, 1, bias=bias), cost.conv_mults(h, w, c_in, c_out, 1)'''
FORGED_CHECKS = '''import sys
import onebyone.checks.core as core
core.call_learner = lambda fn, *args, **kwargs: fn(*args)  # the student's process lies...
sys.setprofile = lambda *args: None
def conv1x1(x, weight, bias=None):
    return check.layers.conv1x1(x, weight, bias)  # ...but the grader reads this line itself'''
USES_TORCH = '''F = torch.nn.functional
def conv1x1(x, weight, bias=None):
    b = None if bias is None else torch.from_numpy(bias)
    return F.conv2d(torch.from_numpy(x), torch.from_numpy(weight)[:, :, None, None], b).numpy()'''


def snoop(paths_to_read, paths_to_write):
    """A cell that tries to read the instructor's files and to rewrite or delete them; its
    conv1x1_cost is right only if it managed to read the hidden tests or another's work."""
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
def conv1x1_cost(h, w, c_in, c_out, bias):
    if "HIDDEN TESTS" in stolen or "conv1x1_cases" in stolen or "BEGIN SOLUTION" in stolen:
        return c_in * c_out + (c_out if bias else 0), h * w * c_in * c_out
    return 0, 0'''


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
    samples.set_code(noisy, "conv1x1", NOISY_CONV)
    samples.set_code(noisy, "linear_as_conv1x1", NOISY_LINEAR_PREFIX
                     + samples.solution_code(A, "linear_as_conv1x1", course))
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
        if gid in ("test_conv1x1_hidden", "conv1x1_cost"):
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    case("retyped_cells", text(retyped), without(samples.honest(A, course), "conv1x1_cost"))
    case("sys_exit", text(samples.add_after(samples.honest(A, course), "conv1x1",
                                            "import sys\nsys.exit('bye')")), honest)
    case("os_exit", text(samples.add_after(samples.honest(A, course), "conv1x1_cost",
                                           "import os\nos._exit(3)")),
         without(samples.honest(A, course), "conv1x1_cost", "fold_1x1"), "kernel died")
    case("infinite_loop", text(samples.add_after(samples.honest(A, course), "linear_as_conv1x1",
                                                 "while True:\n    pass")),
         without(samples.honest(A, course), "linear_as_conv1x1", "conv1x1_cost", "fold_1x1"),
         "timed out")
    slow = samples.honest(A, course)
    for _ in range(3 * TIMEOUT):
        samples.add_after(slow, "test_linear_as_conv1x1_hidden", "import time\ntime.sleep(0.5)")
    case("slow_cells", text(slow), without(samples.honest(A, course), "conv1x1_cost", "fold_1x1"),
         "timed out")
    bomb = samples.add_after(samples.honest(A, course), "setup",
                             "def bomb():\n    blocks = []\n    while True:\n"
                             "        blocks.append(np.empty(2**24))  # not touched: fast\n"
                             "bomb()")
    samples.add_after(bomb, "conv1x1", "huge = np.ones((10**6, 10**6))")
    case("memory_bomb", text(bomb), honest, "memory limit")

    # hostile submissions: wrong answers with an attack
    case("patch_comparisons", text(samples.add_after(wrong(), "setup", PATCH_COMPARISONS)),
         wrong(), attacked=CONV | COST)
    case("patch_isinstance", text(samples.add_after(wrong(), "setup", PATCH_ISINSTANCE)),
         wrong(), status=None, attacked=CONV | COST)
    always_equal = samples.set_code(samples.honest(A, course), "conv1x1", ALWAYS_EQUAL)
    samples.set_code(always_equal, "conv1x1_cost", ALWAYS_EQUAL_COST)
    case("always_equal", text(always_equal), wrong(), attacked=CONV | COST)
    blanker = samples.set_code(samples.honest(A, course), "conv1x1_cost", BLANK_LATER_CELLS)
    case("blank_later_cells", text(blanker), wrong(conv=False), attacked=COST)
    hider = edit_tests(samples.add_after(wrong(), "setup", HIDE_EXCEPTIONS),
                       lambda code: "try:\n" + "\n".join("    " + ln for ln in code.splitlines())
                       + "\nexcept BaseException:\n    pass")
    case("hide_exceptions", text(hider), wrong(), attacked=CONV | COST)
    reference = samples.set_code(samples.honest(A, course), "conv1x1", USES_REFERENCE_CONV)
    samples.set_code(reference, "conv1x1_cost", USES_REFERENCE_COST)
    case("uses_reference", text(reference), wrong(), attacked=CONV | COST)
    case("forged_checks", text(samples.set_code(samples.honest(A, course), "conv1x1",
                                                FORGED_CHECKS)), wrong(cost=False), attacked=CONV)
    case("uses_torch", text(samples.set_code(samples.honest(A, course), "conv1x1", USES_TORCH)),
         wrong(cost=False), attacked=CONV)

    # a submission that goes after the instructor's files
    source_nb = course / "solutions" / A / f"{A}.ipynb"
    protected = [source_nb, course / "exercises" / A / f"{A}.ipynb",
                 folder / "honest" / A / f"{A}.ipynb", ROOT / "onebyone" / "layers.py",
                 ROOT / "onebyone" / "checks" / "one_by_one.py"]
    snooper = samples.set_code(samples.honest(A, course), "conv1x1_cost", snoop(
        [source_nb, folder / "honest" / A / f"{A}.ipynb", out / "gradebook.db",
         out / "journal.jsonl", ROOT / "solutions" / A / f"{A}.ipynb"],
        [*protected, out / "gradebook.db", out / "journal.jsonl"]))
    case("snoop", text(snooper), without(samples.honest(A, course), "conv1x1_cost"),
         attacked=COST)

    samples.write_class(folder, A, {s: c["submission"] for s, c in cases.items()})
    before = digest(protected)
    code = cli.main(["grade", str(folder), "--out", str(out), "--jobs", "2", "--course",
                     str(course), "--timeout", str(TIMEOUT)])
    return dict(cases=cases, code=code, out=out, folder=folder, course=course,
                before=before, protected=protected, after=digest(protected))


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
    "edited_tests", "retyped_cells", "sys_exit", "os_exit", "infinite_loop", "slow_cells",
    "memory_bomb", "malformed", "missing", "misnamed"])
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
    assert items_of(graded, "snoop")["test_conv1x1_cost_hidden"] == 0  # read nothing
    journal = (graded["out"] / "journal.jsonl").read_text(encoding="utf-8")
    assert "pwned" not in journal
    assert b"pwned" not in (graded["out"] / "gradebook.db").read_bytes()


def test_the_gradebook_holds_the_same_scores(graded):
    table = rows(graded)
    with Gradebook(f"sqlite:///{graded['out'] / 'gradebook.db'}") as gradebook:
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
