"""The class report, OUT/report.html, written at the end of every run: what the instructor reads
before the tables.

Per assignment: the distribution of scores (a chart, with alt text computed from the scores);
per test, how many submissions earned its points and the failure messages most of them hit, in
the checks' own words; pairs of submissions whose solution cells share code of their own
(term/similarity_index.py: a fingerprint index, as MOSS), strongest first, side by side;
the submissions not graded normally, and why. One self-contained page: the chart
is an embedded SVG drawn by hand (chart.py), the style inline, no script, nothing from another
host.
"""

import collections
import dataclasses
import pathlib
import re
import statistics

from nbgrader import utils

from onebyone.tools import files
from onebyone.tools.grading import course, plan
from onebyone.tools.grading.outputs import chart, feedback, outline, pages
from onebyone.tools.grading.result import Job, Result, Status
from onebyone.tools.term import similarity_index

TOP_MESSAGES = 5  # failure messages listed per test
TOP_GROUPS = 20  # groups of alike submissions shown per solution cell
NUMBER = re.compile(r"-?\d+(\.\d+)?(e-?\d+)?")


def common_failures(messages, top=TOP_MESSAGES):
    """[(diagnosis, count, variants)] of failure messages: grouped on their diagnosis (what is
    wrong and the likely mistake, without the measurements; see feedback.read) with the numbers
    masked (the same mistake on other sizes), shown in its most frequent wording."""
    groups = collections.defaultdict(collections.Counter)
    for message in messages:
        line = feedback.read(message).diagnosis
        groups[NUMBER.sub("#", line)][line] += 1
    ranked = sorted(groups.values(), key=lambda c: (-sum(c.values()), c.most_common(1)[0][0]))
    return [(c.most_common(1)[0][0], sum(c.values()), len(c)) for c in ranked[:top]]


def warm_up() -> None:
    """Compile the report's template (batch.py calls this while the workers grade)."""
    pages.warm_up("report.html")


def score_chart(scores, max_score, title):
    """(SVG as a data: URI, alt text) of the distribution of `scores` (chart.py)."""
    uri = chart.data_uri(chart.histogram_svg(scores, max_score, title))
    counts = collections.Counter(scores)
    mode, mode_count = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    alt = (f"Histogram of the scores of {len(scores)} submission(s) of {title}, out of "
           f"{max_score:g}: median {statistics.median(scores):g}, lowest {min(scores):g}, "
           f"highest {max(scores):g}; the most frequent score is {mode:g} "
           f"({mode_count} submission(s)).")
    return uri, alt


def solution_cells(notebook_path, solution_ids):
    """{grade_id: code} of the solution cells in a submitted notebook (those it has)."""
    try:
        with open(notebook_path, "rb") as handle:
            notebook = plan.read_submission(handle.read())
    except (OSError, plan.InvalidNotebook):
        return {}
    found = {}
    for cell in notebook.cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cell_id = course.grade_id(cell)
        if cell_id in solution_ids and cell_id not in found:
            found[cell_id] = course.cell_text(cell)
    return found


def _side(code, matched):
    return [(line, number in matched) for number, line in enumerate(code.splitlines(), 1)]


@dataclasses.dataclass
class _Cell:
    grade_id: str
    groups: list  # of dicts: members, pairs, best pair side by side
    more: int  # groups not shown
    compared: int

    @property
    def pairs(self):
        return [pair for group in self.groups for pair in group["pairs"]]


def similar_cells(source: course.Source, notebooks: dict) -> list[_Cell]:
    """Per solution cell of `source`, the flagged pairs among {student: notebook path}."""
    solution_ids = [c.metadata.nbgrader["grade_id"] for c in source.cells
                    if c.cell_type == "code" and utils.is_solution(c)]
    codes = {student: solution_cells(path, set(solution_ids))
             for student, path in notebooks.items()}
    cells = []
    for grade_id in solution_ids:
        released = source.released.get(grade_id)
        by_student = {s: c[grade_id] for s, c in codes.items() if grade_id in c}
        pairs = similarity_index.similar_pairs(by_student, released.source if released else "")
        every_group = similarity_index.groups_of(pairs)
        groups = []
        for group in every_group[:TOP_GROUPS]:
            best = group[0]  # the strongest evidence first
            members = sorted({p.first for p in group} | {p.second for p in group})
            groups.append({"members": members, "pairs": group, "best": best,
                           "first": _side(by_student[best.first], best.first_lines),
                           "second": _side(by_student[best.second], best.second_lines)})
        cells.append(_Cell(grade_id, groups, len(every_group) - len(groups),
                           len(by_student)))
    return cells


def _assignment(assignment: str, source: course.Source, results: list[Result],
                notebooks: dict) -> dict:
    plan_ = outline.of(source, assignment)
    scores = [r.final_score for r in results]  # after the late penalty, as in grades.csv
    max_score = source.max_score()
    chart, alt = score_chart(scores, max_score, assignment)
    tests = []
    for test in source.tests():
        items = [i for r in results for i in r.items if i.grade_id == test.grade_id]
        failed = [i.message for r in results if r.normal for i in r.items
                  if i.grade_id == test.grade_id and not i.passed]
        earned = sum(i.passed for i in items)
        tests.append({"test": test, "covers": plan_.item(test.grade_id), "earned": earned,
                      "total": len(items), "share": earned / len(items) if items else 0.0,
                      "failures": common_failures(failed)})
    return {"id": assignment, "exercise": plan_.exercise, "chapter": plan_.chapter,
            "count": len(results), "normal": sum(r.normal for r in results),
            "max_score": max_score, "median": statistics.median(scores),
            "mean": statistics.fmean(scores), "chart": chart, "alt": alt, "tests": tests,
            "similar": similar_cells(source, notebooks)}


def render(results: list[Result], sources: dict, notebooks: dict) -> str:
    """The report's HTML. `results`: this run's Results (and the roster's students who did not
    submit, status NOT_SUBMITTED); `notebooks`: {(student, assignment):
    path of the submitted notebook}."""
    absent = [r for r in results if r.status is Status.NOT_SUBMITTED]
    results = [r for r in results if r.status is not Status.NOT_SUBMITTED]
    by_assignment = collections.defaultdict(list)
    for result in results:
        by_assignment[result.assignment].append(result)
    assignments = []
    for assignment in sorted(by_assignment):
        source = sources.get(assignment)
        if source is None:
            continue  # an unknown assignment: listed with the submissions not graded normally
        mine = {s: path for (s, a), path in notebooks.items() if a == assignment and path}
        assignments.append(_assignment(assignment, source, by_assignment[assignment], mine))
    trouble = sorted((r for r in results if not r.normal), key=lambda r: (r.assignment,
                                                                           r.student))
    late = sorted((r for r in results if r.late_penalty), key=lambda r: (r.assignment,
                                                                        r.student))
    return pages.render("report.html", assignments=assignments, trouble=trouble,
                        total=len(results), late=late, absent=absent,
                        threshold=similarity_index.THRESHOLD,
                        window=similarity_index.WINDOW + similarity_index.K - 1,
                        common=similarity_index.COMMON)


def write(out: pathlib.Path, results: list[Result], sources: dict, jobs: list[Job]) -> pathlib.Path:
    """Write OUT/report.html for this run (`jobs`: the run's submissions, see batch.py)."""
    notebooks = {job.who: job.notebook for job in jobs}
    text = render(results, sources, notebooks)
    path = out / "report.html"
    with files.written_whole(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return path
