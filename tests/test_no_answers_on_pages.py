"""No graded answer is printed in the book: no run of three consecutive lines of a solution cell's
body (between BEGIN and END SOLUTION) appears in the code a built page shows.

A chapter may keep the package's listing of an idea it teaches in a collapsed dropdown titled
"After the exercise: ..." (the issue allows it): code there is not counted as shown."""

import html.parser
import re

import nbformat
from books import ROOT

from onebyone.tools.release import assignments

RUN = 3  # consecutive lines: enough to be an answer, not a common idiom
MIN_CHARS = 12  # shorter lines ("return out", ")") are too common to count


def normalised(line):
    """A code line without its comment and with single spaces, or '' if it is trivial."""
    line = re.sub(r"\s+#.*$", "", line).strip()
    line = re.sub(r"\s+", " ", line)
    if len(line) < MIN_CHARS or line.startswith(("#", '"""', "'''")):
        return ""
    return line


def lines_of(text):
    return [n for n in (normalised(line) for line in text.splitlines()) if n]


def solution_bodies():
    """{(assignment, grade_id): [normalised non-trivial lines]} of every solution region."""
    bodies = {}
    for assignment in assignments(ROOT):
        path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            for index, body in enumerate(re.findall(
                    r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)):
                bodies[assignment, grade_id, index] = lines_of(body)
    return bodies


class _CodeText(html.parser.HTMLParser):
    """The text of every <pre> element of a page: the code it shows."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth, self.blocks = 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self.depth += 1
            if self.depth == 1:
                self.blocks.append("")

    def handle_endtag(self, tag):
        if tag == "pre" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.blocks[-1] += data


AFTER_THE_EXERCISE = re.compile(
    r"<details\b[^>]*>\s*<summary\b[^>]*>(?:(?!</summary>).)*"
    r"(?:After the exercise|做完练习之后).*?</details>",  # the English and the Chinese edition
    re.S)


def page_code(page):
    """The code a page shows, without its collapsed "After the exercise" listings."""
    parser = _CodeText()
    parser.feed(AFTER_THE_EXERCISE.sub("", page.read_text(encoding="utf-8")))
    return [lines_of(block) for block in parser.blocks]


def test_only_after_the_exercise_dropdowns_are_left_out(tmp_path):
    code = "<pre>out = np.einsum('oc,nchw->nohw', w, x)</pre>"
    page = tmp_path / "page.html"
    page.write_text(f"<details class='sd-dropdown'><summary>After the exercise: the course's "
                    f"conv1x1</summary>{code}</details>"
                    f"<details><summary>Answer</summary>{code}</details>{code}")
    assert len(page_code(page)) == 2


def runs(lines):
    return {tuple(lines[i:i + RUN]) for i in range(len(lines) - RUN + 1)}


def shown_runs(built_book):
    """{page: every run of RUN code lines the page shows}, for every built page."""
    return {page.relative_to(built_book): set().union(*map(runs, page_code(page)))
            for page in sorted(built_book.rglob("*.html"))}


def test_the_comparison_finds_a_copied_body_and_ignores_trivia():
    body = lines_of("out = np.einsum('oc,nchw->nohw', weight, x)\nif bias is not None:\n"
                    "    out = out + bias[None, :, None, None]  # broadcast\nreturn out\n")
    shown = lines_of("out = np.einsum('oc,nchw->nohw', weight, x)\nif bias is not None:\n"
                     "    out = out + bias[None, :, None, None]\n")
    assert runs(body) & runs(shown)
    assert not runs(lines_of("return out\n)\n]\n# a comment\n"))


def test_no_solution_body_is_printed_on_a_built_page(built_book):
    bodies = solution_bodies()
    assert bodies, "no solution regions found"
    shown = shown_runs(built_book)
    printed = {}
    for key, body in bodies.items():
        for page, found in shown.items():
            copied = runs(body) & found
            if copied:
                printed.setdefault(f"{key[0]}: {key[1]}", []).append(
                    f"{page} shows {' / '.join(sorted(copied)[0])}")
    assert not printed, "solutions printed in the book:\n" + "\n".join(
        f"{item}: {'; '.join(pages)}" for item, pages in sorted(printed.items()))


# (The package itself holds no answer to a graded item since exercises v3, so a page that shows
# the package's code shows no answer: tests/test_no_answers_in_kit.py pastes every function and
# class of the installed kit into every item, and none earns its points.)
