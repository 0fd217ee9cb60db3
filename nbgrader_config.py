"""nbgrader's course directory, mapped onto the course layout.

solutions/<id>/<id>.ipynb (instructor source) -> exercises/<id>/<id>.ipynb (student release).
"""

import pathlib

c = get_config()  # noqa: F821 (provided by nbgrader when it reads this file)

c.CourseDirectory.root = str(pathlib.Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "onebyone"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.db_url = "sqlite:///" + str(pathlib.Path(__file__).resolve().parent / "gradebook.db")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
