"""Where results go, as soon as they arrive (those that arrive together, stored together): the
nbgrader gradebook, an append-only journal and the feedback pages; at the end, the two CSV
tables. Only the main process writes here.

The journal (OUT/journal.jsonl, one JSON result per line, flushed and synced) is what makes a run
restartable: a submission whose content key (its bytes, the source notebook, the limits) is
already in the journal is not graded again. The last line for a (student, assignment) wins, so
the tables never hold duplicate rows. A run stopped after a gradebook commit but before the
journal lines grades those submissions again, and the gradebook takes the new scores in place.
"""

import csv
import json
import os
import pathlib
from typing import TYPE_CHECKING

from onebyone.tools import files
from onebyone.tools.grading.result import Job, Result

if TYPE_CHECKING:  # the roster's student, named in a hint only
    from onebyone.tools.term.roster import Student

# score: after nbgrader's late penalty (late_penalty), as `nbgrader export` gives it
GRADES_COLUMNS = ["student_id", "assignment_id", "score", "max_score", "late_penalty", "status",
                  "note"]
ITEMS_COLUMNS = ["student_id", "assignment_id", "grade_id", "score", "max_score", "message"]
RECORDED_TOGETHER = 500  # submissions per gradebook transaction at most (bounds its SQL lists)


class Records:
    """The output folder `out` and the gradebook at `db_url`."""

    def __init__(self, out: pathlib.Path):
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self.journal_path = out / "journal.jsonl"
        self.results = {}
        self.sources = {}  # set by open_gradebook: the feedback pages link to their tasks
        if self.journal_path.exists():
            with open(self.journal_path, encoding="utf-8") as journal:
                for line in journal:
                    try:
                        result = Result.from_json(json.loads(line))
                    except ValueError:
                        continue  # a line cut short by a killed run: that result is redone
                    self.results[(result.student, result.assignment)] = result
        self.journal = open(self.journal_path, "a", encoding="utf-8")
        self.gradebook = None

    def open_gradebook(self, db_url: str, sources: dict) -> None:
        """The gradebook at `db_url`, made ready for `sources` (gradebook.py); raises
        gradebook.GradebookError with a one-line reason when it cannot be used."""
        from nbgrader.api import Gradebook

        from onebyone.tools.grading.store import gradebook

        gradebook.prepare(db_url, sources)
        self.gradebook = Gradebook(db_url)
        self.sources = sources

    def close(self) -> None:
        self.journal.close()
        if self.gradebook is not None:
            self.gradebook.close()

    def earlier(self, job: Job) -> Result | None:
        """The journal's result for this job if nothing changed since, else None."""
        result = self.results.get(job.who)
        return result if result is not None and result.key == job.key else None

    def record(self, results: list[Result]) -> None:
        """Store results everywhere: the gradebook first (a transaction per RECORDED_TOGETHER),
        then each feedback page, the journal last (its lines mark them done; one disk sync).
        An engine hands over together the results that arrived while the last ones were stored,
        so a main process that falls behind many workers catches up."""
        # imported here, not at the top: batch.py reads the journal before it starts the engine,
        # and the engine's workers are forked before the main process imports anything heavy
        self.record_in_gradebook(results)
        for result in results:
            self.write_page(result)
        for result in results:
            self.journal.write(json.dumps(result.to_json(), sort_keys=True) + "\n")
        self.journal.flush()
        os.fsync(self.journal.fileno())
        for result in results:
            self.results[(result.student, result.assignment)] = result

    def record_in_gradebook(self, results: list[Result]) -> None:
        """The results' autograder scores in the gradebook (a transaction per
        RECORDED_TOGETHER); a score given there by hand stays."""
        from onebyone.tools.grading.store import gradebook

        scored = [(r.assignment, r.student, {item.grade_id: item.score for item in r.items})
                  for r in results if r.assignment in self.sources]
        for first in range(0, len(scored), RECORDED_TOGETHER):
            gradebook.record(self.gradebook, scored[first:first + RECORDED_TOGETHER])

    def write_page(self, result: Result) -> pathlib.Path:
        """The student's feedback page, OUT/feedback/<student>/<assignment>/<assignment>.html."""
        from onebyone.tools.grading.outputs import feedback

        folder = self.out / "feedback" / result.student / result.assignment
        folder.mkdir(parents=True, exist_ok=True)
        page = feedback.page(result, self.sources.get(result.assignment))
        path = folder / f"{result.assignment}.html"
        path.write_text(page, encoding="utf-8")
        return path

    def take_recorded(self, jobs: list[Job], recorded: dict) -> set:
        """The run's results as the gradebook holds them now (`recorded`, see
        term/class_run.gradebook_scores: a score given by hand, the late penalty), their pages
        written again where that changed them, or changed them at an earlier run. Returns the
        (student, assignment) whose page was written again."""
        from onebyone.tools.term.class_run import as_recorded

        marks = self.out / "pages-from-gradebook.json"
        before = set(map(tuple, json.loads(marks.read_text()))) if marks.is_file() else set()
        after, rewritten = set(), set()
        for job in jobs:
            result = self.results.get(job.who)
            if result is None:
                continue
            shown = as_recorded(result, recorded.get(job.who))
            if shown is not result:
                after.add(job.who)
            if shown is not result or job.who in before:
                self.write_page(shown)
                rewritten.add(job.who)
            self.results[job.who] = shown
        with files.written_whole(marks) as partial:
            partial.write_text(json.dumps(sorted(after | (before - {j.who for j in jobs}))))
        return rewritten

    def write_exports(self, students: list["Student"],
                      assignments: list[str]) -> list[pathlib.Path]:
        """With a roster: OUT/moodle-grades.csv, and OUT/canvas-grades.csv when the roster has
        Canvas's ids (`lms_id`), one row per roster student, read from the gradebook."""
        from onebyone.tools.term import grades_out

        if not students or not assignments:
            return []
        grades = grades_out.class_grades(self.gradebook, students, assignments)
        written = [grades_out.moodle_csv(self.out / "moodle-grades.csv", grades)]
        if any(s.lms_id for s in students):
            written.insert(0, grades_out.canvas_csv(self.out / "canvas-grades.csv", grades))
        return written

    def write_tables(self, jobs: list[Job], absent: list[Result] = ()) -> None:
        """grades.csv and items.csv for the submissions of this run, sorted, with a row for
        each `absent` result (a roster student who did not submit)."""
        absent = {(r.student, r.assignment): r for r in absent}
        keys = sorted({job.who for job in jobs} | set(absent))
        with open(self.out / "grades.csv", "w", newline="", encoding="utf-8") as grades, \
                open(self.out / "items.csv", "w", newline="", encoding="utf-8") as items:
            grade_rows = csv.writer(grades)
            item_rows = csv.writer(items)
            grade_rows.writerow(GRADES_COLUMNS)
            item_rows.writerow(ITEMS_COLUMNS)
            for key in keys:
                result = absent.get(key) or self.results.get(key)
                if result is None:
                    continue
                note = "; ".join(n for n in result.notes if "\n" not in n)
                grade_rows.writerow([*key, f"{result.final_score:g}", f"{result.max_score:g}",
                                     f"{result.late_penalty:g}", result.status.value,
                                     note[:1000]])
                for item in result.items:
                    item_rows.writerow([*key, item.grade_id, f"{item.score:g}",
                                        f"{item.max_score:g}", item.message])

