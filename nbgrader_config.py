"""nbgrader's course directory, mapped onto the course layout.

solutions/<id>/<id>.ipynb (instructor source) -> exercises/<id>/<id>.ipynb (student release).
"""

import pathlib

c = get_config()  # noqa: F821 (provided by nbgrader when it reads this file)

ROOT = pathlib.Path(__file__).resolve().parent
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "onebyone"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'gradebook.db'}"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A translated notebook's read-only cells (exercises/<id>/zh_CN/) are kept as the student got
# them, not put back in English (onebyone/tools/translated_cells.py).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "onebyone.tools.translated_cells.OverwriteCellsAnyLanguage",
    "nbgrader.preprocessors.CheckCellMetadata",
]
