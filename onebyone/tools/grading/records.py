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

from onebyone.tools.grading.result import Job, Result

GRADES_COLUMNS = ["student_id", "assignment_id", "score", "max_score", "status", "note"]
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

        from onebyone.tools.grading import gradebook

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
        from onebyone.tools.grading import feedback, gradebook

        scored = [(r.assignment, r.student, {item.grade_id: item.score for item in r.items})
                  for r in results if r.assignment in self.sources]
        for first in range(0, len(scored), RECORDED_TOGETHER):
            gradebook.record(self.gradebook, scored[first:first + RECORDED_TOGETHER])
        for result in results:
            folder = self.out / "feedback" / result.student / result.assignment
            folder.mkdir(parents=True, exist_ok=True)
            page = feedback.page(result, self.sources.get(result.assignment))
            (folder / f"{result.assignment}.html").write_text(page, encoding="utf-8")
        for result in results:
            self.journal.write(json.dumps(result.to_json(), sort_keys=True) + "\n")
        self.journal.flush()
        os.fsync(self.journal.fileno())
        for result in results:
            self.results[(result.student, result.assignment)] = result

    def write_tables(self, jobs: list[Job]) -> None:
        """grades.csv and items.csv for the submissions of this run, sorted."""
        keys = sorted({job.who for job in jobs})
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

