"""Plain `nbgrader autograde` keeps a translated notebook's read-only cells as the student got them.

nbgrader's `OverwriteCells` puts back the source's text in every read-only cell whose checksum
is not the source's. A Chinese submission (exercises/<id>/zh_CN/<id>.ipynb, chinese_notebooks.py)
has read-only cells in Chinese, so its autograded copy, and the feedback `nbgrader
generate_feedback` makes from it, came back in English (the scores were right: only text
differs, and the setup's language lines).

`OverwriteCellsAnyLanguage` does what `OverwriteCells` does, except that a read-only cell whose
content is exactly a translated release's copy of it (the instructor's file in the course folder,
compared by nbgrader's own checksum) keeps that copy. It is instructor-made, so running the
translated setup cell is as safe as running the English one; it makes the checks speak the
notebook's language in nbgrader's kernel too. Anything else is restored from the source, as
nbgrader does. nbgrader_config.py names it in `Autograde.sanitize_preprocessors`.
"""

import functools
import pathlib

import nbformat
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import OverwriteCells

# Autograde.sanitize_preprocessors of nbgrader 0.9.6 with this class in OverwriteCells' place
SANITIZE_PREPROCESSORS = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "onebyone.tools.translated_cells.OverwriteCellsAnyLanguage",
    "nbgrader.preprocessors.CheckCellMetadata",
]


@functools.cache
def _translated_checksums(release: pathlib.Path, stamp: tuple) -> dict:
    """{grade_id: {checksum: source}} of the read-only cells of every translated release
    <release folder>/<language>/<notebook> (`stamp`: the files' times, so an edit is seen)."""
    found = {}
    for path in sorted(release.parent.glob(f"*/{release.name}")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if utils.is_locked(cell) and "grade_id" in cell.metadata.get("nbgrader", {}):
                found.setdefault(cell.metadata.nbgrader.grade_id, {})[
                    utils.compute_checksum(cell)] = cell.source
    return found


def translated_copies(release: pathlib.Path) -> dict:
    """{grade_id: {checksum: source}} of the translated releases of the release `release`."""
    stamp = tuple(p.stat().st_mtime_ns for p in sorted(release.parent.glob(f"*/{release.name}")))
    return _translated_checksums(release, stamp)


class OverwriteCellsAnyLanguage(OverwriteCells):
    """nbgrader's OverwriteCells, accepting a read-only cell from any language's release."""

    def _release(self, resources) -> pathlib.Path:
        course = CourseDirectory(config=self.config)
        folder = pathlib.Path(course.format_path(course.release_directory, ".",
                                                 resources["nbgrader"]["assignment"]))
        return folder / f"{resources['nbgrader']['notebook']}.ipynb"

    _kept = None  # the translated copy the cell being processed is

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and utils.is_locked(cell):
            copies = translated_copies(self._release(resources)).get(grade_id, {})
            self._kept = copies.get(utils.compute_checksum(cell))
        try:
            cell, resources = super().preprocess_cell(cell, resources, cell_index)
        finally:
            kept, self._kept = self._kept, None
        if kept is not None:
            cell.source = kept  # the translated release's own text, not the source's
        return cell, resources

    def report_change(self, name, attr, old, new):
        """nbgrader's warning that a read-only cell changed, unless it is a translated copy."""
        if not (attr == "checksum" and self._kept is not None):
            super().report_change(name, attr, old, new)
