"""The course as the grader reads it, in one leaf module (of the package it imports only
onebyone.tools.names, itself a leaf):
where the assignments are (solutions/<id>/<id>.ipynb, released as exercises/<id>/<id>.ipynb),
the instructor's source notebook of each (`Source`), and how a notebook cell's nbgrader metadata
and text are read, whatever shape a hand-edited submission gave them.

nbformat and nbgrader are imported where a notebook is read, not with this module: the main
process imports it before it starts its workers, which should not wait for those imports.
"""

import ast
import dataclasses
import pathlib

from onebyone.tools import names


def nbgrader_metadata(cell: dict) -> dict:
    """A cell's nbgrader metadata ({} when it has none or a malformed one)."""
    metadata = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    found = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return found if isinstance(found, dict) else {}


def grade_id(cell: dict) -> str | None:
    return nbgrader_metadata(cell).get("grade_id")


def cell_text(cell: dict) -> str:
    """A cell's source as one string (a list of lines in a file is joined)."""
    source = cell.get("source", "")
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def source_files(course: pathlib.Path, assignment_ids: list[str] | None = None) -> dict:
    """{id: solutions/<id>/<id>.ipynb} of the course (limited to `assignment_ids`)."""
    return {path.stem: path for path in sorted((course / "solutions").glob("*/*.ipynb"))
            if path.stem == path.parent.name
            and (not assignment_ids or path.stem in assignment_ids)}


def release_file(course: pathlib.Path, assignment: str) -> pathlib.Path:
    return course / "exercises" / assignment / f"{assignment}.ipynb"


def sources_of(course: pathlib.Path, assignment_ids: list[str] | None = None) -> dict:
    """{id: Source} for solutions/<id>/<id>.ipynb (with its release, for checksums)."""
    return {assignment: Source(path, release_file(course, assignment))
            for assignment, path in source_files(course, assignment_ids).items()}


def describe(code: str) -> str:
    """The first line of a test cell's docstring, or an empty string."""
    try:
        doc = ast.get_docstring(ast.parse(code)) or ""
    except SyntaxError:
        return ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


@dataclasses.dataclass(frozen=True)
class TestCell:
    grade_id: str
    points: float
    description: str  # the test cell's docstring: released to students, so safe to show


def _cells_by_id(path: pathlib.Path) -> dict:
    import nbformat

    release = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    return {grade_id(c): c for c in release.cells if grade_id(c)}


class Source:
    """The instructor's notebook for one assignment (hidden tests included: the grader's only)."""

    def __init__(self, path: pathlib.Path, release_path: pathlib.Path | None = None):
        import nbformat

        self.path = path
        self.release_path = release_path
        self.text = path.read_bytes()
        self.notebook = nbformat.reads(self.text.decode("utf-8"), as_version=4)
        self.cells = self.notebook.cells
        self.by_id = {grade_id(c): c for c in self.cells if grade_id(c)}
        # the released copies (hidden tests removed, checksums set) are what students received
        self.released = {}
        # the same release in other languages (exercises/<id>/<language>/<id>.ipynb): a student
        # may have received any of them, so a read-only cell may match any
        self.translations: dict[str, dict] = {}  # language ("zh_CN") -> its release's cells
        if release_path is not None and release_path.is_file():
            self.released = _cells_by_id(release_path)
            self.translations = {path.parent.name: _cells_by_id(path) for path
                                 in sorted(release_path.parent.glob(f"*/{release_path.name}"))}

    @property
    def translated(self) -> list[dict]:
        """The other languages' releases' cells (by grade_id), in the languages' order."""
        return list(self.translations.values())

    def translated_release(self, language: str) -> pathlib.Path | None:
        """The release in `language` (exercises/<id>/<language>/<id>.ipynb), if there is one."""
        if language not in self.translations:
            return None
        return self.release_path.parent / language / self.release_path.name

    def released_copies(self, gid: str) -> list:
        """The read-only cell `gid` as each language's release gave it (English first)."""
        return [cells[gid] for cells in [self.released, *self.translated] if gid in cells]

    def tests(self) -> list[TestCell]:
        """The autograded test cells, in order."""
        from nbgrader import utils

        return [TestCell(grade_id(c), float(nbgrader_metadata(c).get("points", 0)),
                         describe(c.source))
                for c in self.cells if c.cell_type == "code" and utils.is_grade(c)
                and not utils.is_solution(c)]

    def max_score(self) -> float:
        return sum(t.points for t in self.tests())

    def course_modules(self) -> list[str]:
        """The course package's modules its code cells import (`from onebyone.checks import
        one_by_one as check` names onebyone.checks and onebyone.checks.one_by_one)."""
        modules = set()
        for cell in self.cells:
            if cell.cell_type != "code":
                continue
            try:
                imports = names.walk(cell.source).imports
            except SyntaxError:  # a magic, say: nothing to learn from this cell
                continue
            for each in imports:
                if each.plain:
                    modules.update(each.names)
                elif each.module and not each.level:
                    modules.add(each.module)
                    modules.update(f"{each.module}.{name}" for name in each.names)
        return sorted(m for m in modules if m == "onebyone" or m.startswith("onebyone."))
