"""The chapters' sources teach first: plumbing hidden, exercise answers behind a dropdown, every
question answered."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p for p in (ROOT / "chapters").glob("*.md") if p.stem != "instructor-guide")
CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)
# What the graded exercises ask learners to write: no chapter may show it in the open.
GRADED = {"conv1x1", "linear_as_conv1x1", "mlpconv", "nin", "conv_mults", "conv_params",
          "Inception", "Bottleneck", "global_avg_pool", "GAPHead"}


def hidden(cell):
    """Whether a code cell's source is hidden from the reader."""
    return re.search(r"tags:\s*\[[^\]]*remove-(input|cell)", cell) is not None


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_glue_call_is_visible(path):
    for cell in CELL.findall(path.read_text(encoding="utf-8")):
        if "glue(" in cell:
            assert hidden(cell), f"{path.name}: a visible cell calls glue:\n{cell[:200]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_graded_code_is_only_shown_after_the_exercise(path):
    text = path.read_text(encoding="utf-8")
    for match in re.finditer(r":pyobject: (\w+)", text):
        if match.group(1) not in GRADED:
            continue
        opened = text.rfind(":::{dropdown}", 0, match.start())
        closed = text.rfind("\n:::\n", 0, match.start())
        assert opened > closed, f"{path.name} shows {match.group(1)} outside a dropdown"
        title = text[opened:text.index("\n", opened)]
        assert "After the exercise" in title


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_question_has_a_hint_and_an_answer(path):
    text = path.read_text(encoding="utf-8")
    questions = text.split("**Questions to think about.**")[1].split("**Exercise.**")[0]
    items = re.split(r"\n\d+\. ", questions)[1:]
    assert items, f"{path.name} has no numbered questions"
    for item in items:
        assert ":::{dropdown} Hint" in item and ":::{dropdown} Answer" in item, item[:120]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_checks_of_the_notes_are_gathered_and_collapsed(path):
    """No warning box in the flow; the chapters that check the notes do it in one section."""
    text = path.read_text(encoding="utf-8")
    assert ":class: warning" not in text
    if "## Checking the notes" in text:
        section = text.split("## Checking the notes")[1].split("\n## ")[0]
        assert section.count(":::{dropdown}") >= 1


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_draws_a_diagram_from_its_models(path):
    assert "diagrams." in path.read_text(encoding="utf-8")
