"""The instructor's term around grading: submissions in as the learning platform (Canvas,
Moodle) or nbgrader's exchange hands them over (intake), the class list (roster), late work
as nbgrader rules it (late), grades out in the platform's import format (grades_out), and
which solutions are worth reading side by side (similarity_index).

Each module stands on nbgrader's own API; none grades anything: `onebyone grade` calls them.
"""
