"""The feedback page a student gets back: per test, its points, what it covers, and the message of
a failure, the diagnosis first.

Made from the result alone (the test's docstring and the check's message) and the exercise's
outline (outline.py: the item a test covers, the chapter that teaches it), never from a test
cell's code, so hidden tests stay hidden. Rendered from templates/feedback.html (autoescaped).

A check's message (onebyone/checks/core.py) opens with what is wrong and, when the check can tell,
the likely mistake ("It looks like ...", "Your shortcut has no projection ..."); the lines after
that are measurements (the layers missing or extra, where values differ). The page
shows the first part in full, then the measurements, cut with a visible "…" when long, and the
whole message in a collapsible block.
"""

import dataclasses
import functools
import gettext

from onebyone.tools.grading import wording
from onebyone.tools.grading.course import Source
from onebyone.tools.grading.outputs import outline, pages
from onebyone.tools.grading.result import Result
from onebyone.tools.grading.wording import N_

# how the checks' measurement lines open (core.compare_arrays, checks/roles.py): the detail
DETAIL_OPENERS = ("First difference", "All ", "Off by up to", "channels that differ",
                  "Missing from yours", "In yours but not needed")
LINE_CHARS = 300  # a longer line is detail, not diagnosis
SHOWN_CHARS = 400  # detail shown before the "…"


@dataclasses.dataclass(frozen=True)
class Message:
    diagnosis: str  # shown first, in full (its first line cut only if very long)
    detail: str  # shown after it, cut at SHOWN_CHARS
    full: str | None  # the whole message, when something was cut


def _cut(text, limit):
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


@functools.cache
def detail_openers(language: str = "en") -> tuple:
    """DETAIL_OPENERS and, in `language`, how the checks' catalogue opens those lines (the
    translated line's text before its first field)."""
    from onebyone.checks import messages

    found = set(DETAIL_OPENERS)
    try:
        catalogue = gettext.translation(messages.DOMAIN, messages.LOCALE_DIR,
                                        languages=[language])._catalog
    except OSError:
        return DETAIL_OPENERS
    for english, translated in catalogue.items():
        if not isinstance(english, str) or not isinstance(translated, str):
            continue
        pairs = zip(english.splitlines(), translated.splitlines())
        found.update(there.split("{")[0].strip() for here, there in pairs
                     if here.startswith(DETAIL_OPENERS) and there.split("{")[0].strip())
    return tuple(sorted(found))


def read(message: str, language: str = "en") -> Message:
    """A failure message split into diagnosis and detail (the lines' order kept in each)."""
    openers = detail_openers(language) if language != "en" else DETAIL_OPENERS
    lines = message.strip("\n").splitlines() or [""]
    diagnosis, detail = [lines[0]], []
    for line in lines[1:]:
        is_detail = line.lstrip().startswith(openers) or len(line) > LINE_CHARS
        (detail if is_detail or detail and not line.strip() else diagnosis).append(line)
    headline = _cut(diagnosis[0], LINE_CHARS)
    shown_diagnosis = "\n".join([headline, *diagnosis[1:]])
    detail_text = "\n".join(detail)
    shown_detail = _cut(detail_text, SHOWN_CHARS)
    cut = headline != diagnosis[0] or shown_detail != detail_text
    return Message(shown_diagnosis, shown_detail, message if cut else None)


def page(result: Result, source: Source | None = None) -> str:
    """The feedback HTML for one graded submission (`source`: its course.Source, for links), in
    the language of the submitted notebook (`result.language`, see language.py)."""
    words = wording.Words(result.language)
    plan = outline.of(source, result.assignment, result.language) if source is not None else None
    tests = []
    for item in result.items:
        tests.append({
            "item": item,
            "verdict": N_("passed") if item.passed else N_("failed"),
            "message": (read(words.note(item.message), result.language) if item.message
                        else None),
            "covers": plan.item(item.grade_id) if plan else None,
        })
    return pages.render(
        "feedback.html", result=result, tests=tests, normal=result.normal,
        notes=[words.note(note) for note in result.notes if "\n" not in note],
        chapter=plan.chapter if plan else None, exercise=plan.exercise if plan else None,
        _=words, html_lang=result.language.replace("_", "-"))


def warm_up() -> None:
    """Compile the page's template now (batch.py calls this while the workers grade)."""
    pages.warm_up("feedback.html")
