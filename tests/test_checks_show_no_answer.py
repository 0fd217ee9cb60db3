"""No failing public check prints an expected number or a line of the checks' source.

Every mutant of tests/mutants.py (a realistic wrong answer) runs through its assignment's public
test cells in a real IPython shell, the way a student's notebook runs them: the kit's handler
formats the error. What the student sees must hold no line of onebyone/checks/*.py, and no number
of the reference outputs stored for the public tests (the answers) unless the student's own cell
shows it (an input). The mistakes a mutant `says` are named in the first failing message.
Each failing cell is run again with the checks speaking Chinese (the Chinese notebooks' setup):
the same promises hold for the Chinese message, which names the same mistake.
"""

import contextlib
import io
import re
import sys

import nbformat
import numpy as np
import pytest
from books import ROOT
from IPython.core.interactiveshell import InteractiveShell
from mutants import MUTANTS
from test_no_answers_in_kit import V3

from onebyone.checks import reference

CHECK_LINES = {line.strip() for path in (ROOT / "onebyone" / "checks").glob("*.py")
               for line in path.read_text(encoding="utf-8").splitlines()
               if len(line.strip()) >= 12 and not line.strip().startswith("#")}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
CJK = re.compile(r"[\u4e00-\u9fff]")
CHINESE = "zh_CN"  # the Chinese notebooks' language
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def answers(assignment):
    """Every number the stored reference outputs of `assignment` hold that could give one away
    (integers of 10 and more, and non-integers), as rounded strings' values."""
    found = set()

    def walk(value):
        if isinstance(value, np.ndarray):
            for number in value.ravel().tolist():
                walk(number)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            shown = round(float(value), 3)
            if abs(shown) >= 10 or shown != round(shown):
                found.add(shown)

    walk(list(reference.Stored(assignment).records.values()))
    return found


@pytest.fixture(scope="module")
def shell():
    # IPython puts its user namespace in sys.modules["__main__"]; the grading tests that follow
    # in this process start multiprocessing's fork server, which reads the real __main__.
    main = sys.modules["__main__"]
    InteractiveShell.clear_instance()
    yield InteractiveShell.instance(colors="nocolor")
    InteractiveShell.clear_instance()
    sys.modules["__main__"] = main


def run_cell(shell, code):
    """(what the cell printed, the error's message or None), as a student's notebook shows it."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        result = shell.run_cell(code, store_history=False)
    error = result.error_in_exec or result.error_before_exec
    return ANSI.sub("", out.getvalue()), None if error is None else str(error)


def mutated(assignment, mutant):
    cells = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4).cells
    for cell in cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == mutant.cell:
            for old, new in mutant.edits:
                cell.source = cell.source.replace(old, new)
    return cells


@pytest.mark.parametrize("mutant", [m for m in MUTANTS if m.assignment in V3],
                         ids=lambda m: m.id)
def test_a_failing_public_check_shows_no_answer_and_no_check_source(shell, mutant):
    shell.reset(new_session=False)
    numbers = answers(mutant.assignment)
    failures = 0
    for cell in mutated(mutant.assignment, mutant):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or "HIDDEN TESTS" in cell.source:
            continue
        shown, message = run_cell(shell, cell.source)
        if message is None or not meta.get("grade"):
            continue
        failures += 1
        shows_no_answer(mutant, cell.source, shown, message, numbers)
        if failures == 1 and mutant.says:
            assert mutant.says in message, f"{mutant.id} should say {mutant.says!r}:\n{message}"
        # The same cell again, as the Chinese notebook runs it: the same promises, in Chinese.
        english = message
        run_cell(shell, f"from onebyone.checks import language\nlanguage({CHINESE!r})")
        try:
            shown, message = run_cell(shell, cell.source)
        finally:
            run_cell(shell, "language('en')")
        # a check's message in Chinese; the learner's own error (numpy's, say) as it was
        assert message is not None and (CJK.search(message) or message == english), message
        shows_no_answer(mutant, cell.source, shown, message, numbers)
        if failures == 1 and mutant.says:
            said = chinese_of(mutant.says)
            assert any(part in message for part in said), \
                f"{mutant.id} should say one of {said} in Chinese:\n{message}"
    assert failures, f"{mutant.id} fails no public test: nothing to look at"


def shows_no_answer(mutant, code, shown, message, numbers):
    """What the student sees holds no line of the checks and no expected number (a number of
    the student's own cell, or their own answer, may be shown)."""
    leaked = [line for line in shown.splitlines() if line.strip() in CHECK_LINES]
    assert not leaked, f"{mutant.id}: the checks' source is shown: {leaked}"
    assert "onebyone/checks" not in shown, shown
    assert message.splitlines()[-1] in shown, shown
    told = re.sub(r"(your answer|你的答案) -?\d+", "", message)  # the student's own number
    inputs = {float(n) for n in NUMBER.findall(code)}
    given = [n for n in NUMBER.findall(told)
             if round(float(n), 3) in numbers and float(n) not in inputs]
    assert not given, f"{mutant.id}: the message shows expected numbers {given}:\n{shown}"


def chinese_of(words):
    """The Chinese of every checks' message holding the English `words`: its longest stretch
    without a {field} (what a Chinese message holding it must show)."""
    import string

    from onebyone.tools import check_messages

    found = []
    for entry in check_messages.read(check_messages.catalogue_path(CHINESE)):
        if isinstance(entry.id, str) and words in entry.id:
            parts = [text for text, *_ in string.Formatter().parse(entry.string)]
            found.append(max(parts, key=len).strip())
    assert found, f"no message of the checks says {words!r}"
    return found


def test_in_a_real_kernel_the_error_output_holds_the_learners_frames_only():
    """nbgrader scores a cell by its error output: the kit's handler must still send one, and
    it must hold no frame of the checks."""
    from nbclient import NotebookClient

    mutant = next(m for m in MUTANTS if m.id == "one-by-one/conv1x1-bias-dropped")
    notebook = nbformat.read(ROOT / "exercises" / "one-by-one" / "one-by-one.ipynb", 4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in mutated("one-by-one", mutant) if c.metadata["nbgrader"].get("solution")}
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in answers:
            cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
    NotebookClient(notebook, kernel_name="python3", timeout=120, allow_errors=True).execute()
    errors = {cell.metadata["nbgrader"]["grade_id"]: ANSI.sub("", "\n".join(out["traceback"]))
              for cell in notebook.cells for out in cell.get("outputs", [])
              if out.get("output_type") == "error"}
    assert list(errors) == ["test_conv1x1_public"], list(errors)
    shown = errors["test_conv1x1_public"]
    assert "bias was left out" in shown and "check.conv1x1(conv1x1" in shown
    assert "onebyone/checks" not in shown
    assert not [line for line in shown.splitlines() if line.strip() in CHECK_LINES]
