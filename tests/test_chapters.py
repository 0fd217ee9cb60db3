"""The chapters' sources teach first: plumbing hidden, exercise answers behind a dropdown, every
question answered."""

import ast
import pathlib
import re

import nbformat
import pytest
import test_no_answers_on_pages as pages

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p for p in (ROOT / "chapters").glob("*.md") if p.stem != "instructor-guide")
CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)


def graded_names(solutions=ROOT / "solutions"):
    """What the graded exercises ask learners to write: every function and class that a solution
    cell of an nbgrader source notebook defines (its grade id among them)."""
    names = set()
    for path in sorted(solutions.glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id"):
                tree = ast.parse(cell.source)
                defined = {node.name for node in tree.body if isinstance(
                    node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
                assert meta["grade_id"] in defined, f"{path.name}: no {meta['grade_id']} defined"
                names |= defined
    return names


# An "After the exercise" dropdown shows one of them; elsewhere no chapter copies their code.
GRADED = graded_names()


def test_the_graded_names_are_what_the_test_cells_grade():
    """Read a second way: each graded test cell is named test_<item>_public or _hidden, and every
    such item of the six assignments is among the names read from the solution cells."""
    notebooks = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    assert len(notebooks) == 6
    for path in notebooks:
        tested = set()
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code":
                tested.add(re.fullmatch(r"test_(\w+)_(public|hidden)", meta["grade_id"]).group(1))
        assert tested and tested <= GRADED, f"{path.name}: {sorted(tested - GRADED)}"


def hidden(cell):
    """Whether a code cell's source is hidden from the reader."""
    return re.search(r"tags:\s*\[[^\]]*remove-(input|cell)", cell) is not None


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_glue_call_is_visible(path):
    for cell in CELL.findall(path.read_text(encoding="utf-8")):
        if "glue(" in cell:
            assert hidden(cell), f"{path.name}: a visible cell calls glue:\n{cell[:200]}"


LISTING = re.compile(r"```\{literalinclude\} ([^\n]+)\n:pyobject: (\w+)")


def listed_source(chapter, target, name):
    """The source of top-level `name` in the file a chapter's literalinclude points to."""
    path = (chapter.parent / target).resolve()
    text = path.read_text(encoding="utf-8")
    node = next(n for n in ast.parse(text).body if getattr(n, "name", None) == name)
    return ast.get_source_segment(text, node)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_listing_in_the_open_copies_no_solution(path):
    """Course code a chapter lists outside an "After the exercise" dropdown may share a graded
    item's name (the course's GoogLeNet `Inception` against the exercise's Inception-v2 module),
    never its code: no run of lines of any solution body, compared as the built-page test does."""
    bodies = set().union(*map(pages.runs, pages.solution_bodies().values()))
    text = path.read_text(encoding="utf-8")
    for match in LISTING.finditer(text):
        opened = text.rfind(":::{dropdown}", 0, match.start())
        closed = text.rfind("\n:::\n", 0, match.start())
        if opened > closed and "After the exercise" in text[opened:text.index("\n", opened)]:
            continue
        listed = pages.runs(pages.lines_of(listed_source(path, *match.groups())))
        assert not listed & bodies, f"{path.name}: {match.group(2)} copies a solution"


def test_the_listing_check_finds_a_solution_listed():
    """The check above, run on the course's GoogLeNet module against the exercise's Inception-v2
    answer: different code (and the answer has lines the check can find)."""
    answer = next(lines for (assignment, grade_id, _), lines in pages.solution_bodies().items()
                  if (assignment, grade_id) == ("inception-cost", "Inception"))
    course = pages.lines_of(listed_source(ROOT / "chapters" / "x.md", "../onebyone/models.py",
                                          "Inception"))
    assert not pages.runs(course) & pages.runs(answer)
    assert pages.runs(answer), "the answer has no run of lines to find"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_an_after_the_exercise_dropdown_shows_a_graded_item(path):
    """A dropdown that tells the reader to open it after the exercise holds what the exercise
    grades; code the exercises no longer ask for is shown without that claim."""
    text = path.read_text(encoding="utf-8")
    for match in re.finditer(r":::\{dropdown\} After the exercise.*?\n:::\n", text, re.S):
        shown = set(re.findall(r":pyobject: (\w+)", match.group(0)))
        assert shown & GRADED, f"{path.name}: {sorted(shown)} are not graded items"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_question_has_a_hint_and_an_answer(path):
    text = path.read_text(encoding="utf-8")
    questions = text.split("**Questions to think about.**")[1].split("**Exercise.**")[0]
    items = re.split(r"\n\d+\. ", questions)[1:]
    assert items, f"{path.name} has no numbered questions"
    for item in items:
        assert ":::{dropdown} Hint" in item and ":::{dropdown} Answer" in item, item[:120]


# The chapters built from the source notes check them; the one beyond the notes (built from
# papers, see the seeds' README) checks its sources instead.
BEYOND_THE_NOTES = {"pointwise-today"}
VERDICTS = re.compile(r"\b(holds?|hold exactly|slip|should read|is wrong)\b")


def checks_heading(path):
    return "## Checking the sources" if path.stem in BEYOND_THE_NOTES else "## Checking the notes"


def checks_section(text, heading):
    """The text of the checks section, from its heading to the next section's label."""
    return re.split(r"\n\(chap-[\w-]+\)=\n|\n## ", text.split(heading, 1)[1])[0]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_checks_are_gathered_in_one_collapsed_section(path):
    """Every chapter has its checks section; its body is one closed dropdown holding one closed
    dropdown per claim, and only hidden cells sit beside it. No warning box in the flow."""
    text = path.read_text(encoding="utf-8")
    assert ":class: warning" not in text
    heading = checks_heading(path)
    assert text.count(heading) == 1, f"{path.name} has no single '{heading}' section"
    section = checks_section(text, heading)
    cells = CELL.findall(section)
    assert all(hidden(cell) for cell in cells), f"{path.name}: a visible cell in the checks"
    body = CELL.sub("", section).strip()
    assert body.startswith("::::{dropdown}") and body.endswith("\n::::"), (
        f"{path.name}: the checks section is not one dropdown")
    inner = body[body.index("\n") + 1:-len("::::")]
    assert "::::" not in inner, f"{path.name}: more than one outer dropdown"
    assert inner.count(":::{dropdown}") >= 2, f"{path.name}: fewer than two claims checked"
    assert ":open:" not in body, f"{path.name}: the checks must start collapsed"


@pytest.mark.parametrize("path", [p for p in CHAPTERS if p.stem not in BEYOND_THE_NOTES],
                         ids=lambda p: p.stem)
def test_verdicts_on_the_notes_sit_in_the_checks_section(path):
    """Before the checks section, no sentence that names the notes pronounces on them."""
    text = path.read_text(encoding="utf-8")
    before = CELL.sub("", text.split(checks_heading(path), 1)[0])
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(before.split())):
        if re.search(r"\bnotes?'?s?\b", sentence) and "notebook" not in sentence:
            assert not VERDICTS.search(sentence), f"{path.name}: {sentence}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_draws_a_diagram_from_its_models(path):
    assert "diagrams." in path.read_text(encoding="utf-8")
