"""Where results go, as soon as each is known: the nbgrader gradebook, an append-only journal
and the feedback page; at the end, the two CSV tables. Only the main process writes here.

The journal (OUT/journal.jsonl, one JSON result per line, flushed and synced) is what makes a run
restartable: a submission whose content key (its bytes, the source notebook, the limits) is
already in the journal is not graded again. The last line for a (student, assignment) wins, so
the tables never hold duplicate rows.
"""

import csv
import json
import os
import warnings

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveCells

from onebyone.tools.grading import feedback
from onebyone.tools.grading.result import Result
from onebyone.tools.grading.submissions import BadSubmissions

GRADES_COLUMNS = ["student_id", "assignment_id", "score", "max_score", "status", "note"]
ITEMS_COLUMNS = ["student_id", "assignment_id", "grade_id", "score", "max_score", "message"]


class Records:
    """The output folder `out` and the gradebook at `db_url`."""

    def __init__(self, out, db_url, sources):
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self.journal_path = out / "journal.jsonl"
        self.results = {}
        self.sources = sources
        if self.journal_path.exists():
            with open(self.journal_path, encoding="utf-8") as journal:
                for line in journal:
                    try:
                        result = Result.from_json(json.loads(line))
                    except ValueError:
                        continue  # a line cut short by a killed run: that result is redone
                    self.results[(result.student, result.assignment)] = result
        for assignment, source in sources.items():
            try:
                _save_structure(db_url, assignment, source)
            except RuntimeError as error:  # nbgrader: cells changed under existing submissions
                raise BadSubmissions(
                    f"the gradebook {db_url} holds {assignment!r} with other test cells "
                    f"({error}); grade into a new --out or another --db-url") from None
        self.gradebook = Gradebook(db_url)
        self.journal = open(self.journal_path, "a", encoding="utf-8")

    def close(self):
        self.journal.close()
        self.gradebook.close()

    def earlier(self, job):
        """The journal's result for this job if nothing changed since, else None."""
        result = self.results.get((job["student"], job["assignment"]))
        return result if result is not None and result.key == job["key"] else None

    def record(self, result, known_assignment):
        """Store one result everywhere, gradebook first, journal last (the journal line is what
        marks it done)."""
        if known_assignment:
            self._to_gradebook(result)
        folder = self.out / "feedback" / result.student / result.assignment
        folder.mkdir(parents=True, exist_ok=True)
        page = feedback.page(result, self.sources.get(result.assignment))
        (folder / f"{result.assignment}.html").write_text(page, encoding="utf-8")
        self.journal.write(json.dumps(result.to_json(), sort_keys=True) + "\n")
        self.journal.flush()
        os.fsync(self.journal.fileno())
        self.results[(result.student, result.assignment)] = result

    def _to_gradebook(self, result):
        student, assignment = result.student, result.assignment
        try:
            submission = self.gradebook.find_submission(assignment, student)
        except MissingEntry:
            try:
                self.gradebook.find_student(student)
            except MissingEntry:
                self.gradebook.add_student(student)
            with warnings.catch_warnings():  # nbgrader's add_submission warns about autoflush
                warnings.simplefilter("ignore")
                submission = self.gradebook.add_submission(assignment, student)
        grades = {grade.cell.name: grade for notebook in submission.notebooks
                  for grade in notebook.grades}
        for item in result.items:
            grades[item.grade_id].auto_score = item.score
        self.gradebook.db.commit()

    def write_tables(self, jobs):
        """grades.csv and items.csv for the submissions of this run, sorted."""
        keys = sorted({(j["student"], j["assignment"]) for j in jobs})
        with open(self.out / "grades.csv", "w", newline="", encoding="utf-8") as grades, \
                open(self.out / "items.csv", "w", newline="", encoding="utf-8") as items:
            grade_rows = csv.writer(grades)
            item_rows = csv.writer(items)
            grade_rows.writerow(GRADES_COLUMNS)
            item_rows.writerow(ITEMS_COLUMNS)
            for key in keys:
                result = self.results.get(key)
                if result is None:
                    continue
                note = "; ".join(n for n in result.notes if "\n" not in n)
                grade_rows.writerow([*key, f"{result.score:g}", f"{result.max_score:g}",
                                     result.status.value, note[:1000]])
                for item in result.items:
                    item_rows.writerow([*key, item.grade_id, f"{item.score:g}",
                                        f"{item.max_score:g}", item.message])


def _save_structure(db_url, assignment, source):
    """The assignment's notebook and cells in the gradebook, with nbgrader's own SaveCells
    (skipped when the gradebook already holds the same test cells and points)."""
    wanted = {t.grade_id: t.points for t in source.tests()}
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_assignment(assignment)
        try:
            notebook = gradebook.find_notebook(assignment, assignment)
            if {c.name: c.max_score for c in notebook.grade_cells} == wanted:
                return
        except MissingEntry:
            pass
    notebook = nbformat.reads(source.text.decode("utf-8"), as_version=4)
    resources = {"nbgrader": {"notebook": assignment, "assignment": assignment,
                              "db_url": db_url}}
    SaveCells().preprocess(notebook, resources)
