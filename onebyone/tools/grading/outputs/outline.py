"""What each test cell of an exercise covers, for the feedback pages and the class report.

Read from the instructor's source notebook: a test cell covers the item (the solution cell) that
comes before it; the item is introduced by the task heading above it (`## 1. A 1×1 convolution in
NumPy`), which is an anchor of the exercise's page on the site; the chapter that teaches it is the
one the exercise's intro links to (`[title](<site>/chapters/<x>.html)`, or the older relative
`../../chapters/<x>.md`). Links point at the course website (`html.baseurl`, see kit.py); without
a site address they are left out.
"""

import dataclasses
import functools
import re

from nbgrader import utils

from onebyone.tools import kit, translation
from onebyone.tools.grading.course import Source

# the intro's link to its chapter: the site's address (exercises v3) or the source's relative path
CHAPTER_LINK = re.compile(
    r"\[([^\]]+)\]\((?:\.\./\.\./|https?://[^)\s]*/)chapters/([\w-]+)\.(?:md|html)\)")
HEADING = re.compile(r"^#{2,3}\s+(.+?)\s*$", re.MULTILINE)
ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")  # Markdown's `1\.`: shown as `1.`


@dataclasses.dataclass(frozen=True)
class Link:
    text: str
    url: str | None  # None: no site address to point at


@dataclasses.dataclass(frozen=True)
class Outline:
    """An exercise's page, its chapter, and per test cell the item it covers."""

    exercise: Link
    chapter: Link | None
    items: dict  # test grade_id -> Link to the item's task on the exercise's page
    solution_of: dict  # test grade_id -> the solution cell's grade_id it covers

    def item(self, test_id):
        return self.items.get(test_id)


def _anchor(title):
    """The id Sphinx gives a section with this title (docutils' make_id), or None."""
    try:
        from docutils.nodes import make_id
    except ImportError:  # the book tools are not installed: link to the page only
        return None
    return make_id(title) or None


@functools.cache  # read once per run, not once per feedback page (~10 ms each)
def _site(root):
    try:
        return kit.site_address(root)
    except (OSError, ValueError, TypeError):
        return None


@functools.cache
def _outline(path, assignment, site):
    return build(_notebook(path), assignment, site)


def _notebook(path):
    import nbformat

    return nbformat.read(path, as_version=4)


def build(notebook, assignment, site):
    """The outline of a source notebook (nbformat) published on `site` (or None)."""
    page = f"{site}/exercises/{assignment}/{assignment}.html" if site else None
    chapter = None
    for cell in notebook.cells:
        found = CHAPTER_LINK.search(cell.source) if cell.cell_type == "markdown" else None
        if found:
            title, name = found.groups()
            chapter = Link(title, f"{site}/chapters/{name}.html" if site else None)
            break
    items, solution_of = {}, {}
    heading, solution = None, None
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "markdown":
            titles = HEADING.findall(cell.source)
            heading = ESCAPED.sub(r"\1", titles[-1]) if titles else heading
        elif utils.is_solution(cell):
            solution = grade_id
        elif utils.is_grade(cell):
            # the task the test sits under (a task may test earlier items together)
            items[grade_id] = Link(heading or solution or grade_id, _item_url(page, heading))
            solution_of[grade_id] = solution
    return Outline(Link(assignment, page), chapter, items, solution_of)


def _item_url(page, heading):
    if page is None:
        return None
    anchor = _anchor(heading) if heading else None
    return f"{page}#{anchor}" if anchor else page


def of(source: Source, assignment: str, language: str = "en") -> Outline:
    """The outline of a `course.Source` (cached per notebook file and site address); in another
    `language`, the tasks' and chapter's titles and links are those of its edition."""
    root = source.path.resolve().parents[2]  # <course>/solutions/<id>/<id>.ipynb
    site = _site(root)
    english = _outline(source.path, assignment, site)
    release = source.translated_release(language) if language != "en" else None
    if release is None:
        return english
    edition = f"{site}/{translation.EDITION}" if site else None
    return translated(english, _outline(release, assignment, edition))


def translated(english: Outline, other: Outline) -> Outline:
    """The outline of another edition (`other`, read from its release) with the English task
    anchors: Sphinx keeps a translated section's id, made from its English title."""
    items = {}
    for test_id, link in english.items.items():
        there = other.items.get(test_id)
        anchor = link.url.partition("#")[2] if link.url else ""
        url = other.exercise.url and (f"{other.exercise.url}#{anchor}" if anchor
                                      else other.exercise.url)
        items[test_id] = Link(there.text if there else link.text, url)
    return Outline(other.exercise, other.chapter or english.chapter, items, english.solution_of)
