"""Grading a class with `onebyone grade`: the fixed cost of a run, a class of 120 with --jobs 1
and --jobs 2, the same class on a local Dask cluster of two workers, the main process storing
results, and, on paper from these measured costs, a MOOC-sized run on many worker cores.

The class: the assignments of solutions/ in turn, 120 submissions, four in five honest (the
instructor's solutions in the released notebook), one in five with one function left as the
released stub. Each command runs as a fresh process, as an instructor would run it, into a fresh
output folder; times are medians of several runs. Plain `nbgrader autograde` is measured on the
first NBGRADER_SAMPLE submissions of the class (per submission; set ONEBYONE_BENCH_NBGRADER=0 to
skip it). Every student process runs fenced (bubblewrap), as a run does by default.
"""

import json
import os
import pathlib
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import nbformat
from nbgrader import utils

from onebyone.tools import environment
from onebyone.tools.grading import batch
from onebyone.tools.grading import course as layout

TITLE = "Grading a class with onebyone grade (medians, seconds)"
CLASS_SIZE = 120
NBGRADER_SAMPLE = 12  # plain nbgrader's cost per submission, on this many of the class
FIXED_REPEATS = 9  # runs of the floor and of the fixed cost (each a few seconds)
CPU_REPEATS = 3  # runs counted for CPU seconds (not timed)
CLASS_REPEATS = 3  # turns of --jobs 1 and --jobs 2 on the class (their ratio is a target)
MOOC_SUBMISSIONS = 50_000
STORED_COPIES = 2_000  # results stored to measure the main process, the only writer
SIMILARITY_SAMPLE = 2_000  # solution cells indexed to measure the class report's check
MOOC_CORES = (10, 100, 1000)
BIN = environment.env_bin()
ROOT = batch.ROOT


def solution_code(source_cell):
    """A source cell's solution without nbgrader's markers."""
    return "\n".join(line for line in source_cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def honest_notebook(assignment, course=ROOT, leave_stub=None):
    """The released notebook with the instructor's solutions filled in (all but `leave_stub`,
    a solution cell's grade_id left as released)."""
    source = nbformat.read(course / "solutions" / assignment / f"{assignment}.ipynb", 4)
    solutions = {c.metadata.nbgrader["grade_id"]: c for c in source.cells if utils.is_solution(c)}
    notebook = nbformat.read(course / "exercises" / assignment / f"{assignment}.ipynb", 4)
    for cell in notebook.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and gid in solutions and gid != leave_stub:
            cell.source = solution_code(solutions[gid])
    return notebook


def make_class(folder, count=CLASS_SIZE, course=ROOT):
    """Write `count` submissions into `folder` (nbgrader's submitted layout), the assignments in
    turn; returns the count."""
    assignments = list(layout.source_files(course))
    stubs = {}
    for assignment in assignments:
        release = nbformat.read(course / "exercises" / assignment / f"{assignment}.ipynb", 4)
        stubs[assignment] = [c.metadata.nbgrader["grade_id"] for c in release.cells
                             if c.cell_type == "code" and utils.is_solution(c)]
    for i in range(count):
        assignment, student = assignments[i % len(assignments)], i // len(assignments)
        ids = stubs[assignment]
        stub = ids[student // 5 % len(ids)] if student % 5 == 4 and ids else None
        notebook = honest_notebook(assignment, course, leave_stub=stub)
        where = folder / f"student{student:02d}" / assignment
        where.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, where / f"{assignment}.ipynb")
    return count


def _run(command, cwd=None):
    """(seconds, stderr) of a command that must succeed (exit 1: some submission failed)."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=environment.with_env_bin(), capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stderr


def _timed(command, cwd=None):
    return _run(command, cwd)[0]


GRADING_PHASE = r"; graded in ([0-9.]+) s, "  # batch._summary's line, when something was graded


def onebyone_run(folder, work, *options):
    """(whole run, grading phase) seconds of `onebyone grade` in a fresh output folder. The
    grading phase (from the run's summary) is what the engine spreads over its workers; the
    rest is the fixed cost of imports and a new gradebook."""
    out = pathlib.Path(tempfile.mkdtemp(dir=work))
    seconds, stderr = _run([BIN / "onebyone", "grade", folder, "--out", out, *options])
    found = re.search(GRADING_PHASE, stderr)
    if found is None:  # a failed run, or a summary reworded: say so, never a NaN in a table
        raise RuntimeError(f"no grading time in the run's summary:\n{stderr[-1500:]}")
    return seconds, float(found.group(1))


def nbgrader_course(work, folder):
    """A throwaway nbgrader course over the same submissions, assignments generated."""
    course = work / "nbgrader-course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for assignment in layout.sources_of(ROOT):
        shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
        subprocess.run([BIN / "nbgrader", "generate_assignment", assignment, "--force"],
                       cwd=course, env=environment.with_env_bin(), capture_output=True, check=True)
    shutil.copytree(folder, course / "submitted")
    return course


def nbgrader_run(course):
    """Plain nbgrader: autograde every assignment of the class, one notebook at a time."""
    shutil.rmtree(course / "autograded", ignore_errors=True)
    total = 0.0
    for assignment in layout.sources_of(ROOT):
        total += _timed([BIN / "nbgrader", "autograde", assignment, "--create", "--force"],
                        cwd=course)
    return total


def counted_run(folder, work, *options):
    """(main process, every other process) CPU seconds of `onebyone grade` on `folder` in a
    fresh output folder (bench/_counted.py). Bubblewrap does not wait for what runs in its pid
    namespace (its outer process leaves when told the exit code), so the fenced processes' CPU
    is counted only with --no-fence: the same processes, unfenced."""
    out = pathlib.Path(tempfile.mkdtemp(dir=work))
    _, stderr = _run([sys.executable, "-m", "onebyone.tools.bench._counted", "grade", folder,
                      "--out", out, *options])
    return json.loads(stderr.strip().splitlines()[-1].removeprefix("CPU "))


def fixed_cost(work, repeats=FIXED_REPEATS):
    """The fixed cost of a run: (floor, one-submission run, [(floor, run)] turn by turn,
    {what: median CPU seconds}). The floor and the run in turns, so a machine that slows down
    for a while slows both; then a few runs counted for CPU (not timed)."""
    one = work / "one"
    make_class(one, count=1)
    turns = [(_floor(), onebyone_run(one, work, "--jobs", "1")[0]) for _ in range(repeats)]
    fenced = [counted_run(one, work, "--jobs", "1") for _ in range(CPU_REPEATS)]
    unfenced = [counted_run(one, work, "--jobs", "1", "--no-fence") for _ in range(CPU_REPEATS)]
    floors = [_floor_cpu() for _ in range(CPU_REPEATS)]
    cpu = {"floor": statistics.median(floors),
           "main process": statistics.median(c["main"] for c in fenced),
           "hub, worker, student fork server, student (--no-fence)":
               statistics.median(c["others"] for c in unfenced)}
    return (statistics.median(f for f, _ in turns), statistics.median(g for _, g in turns),
            turns, cpu)


def fixed_rows(floor, fixed, turns, cpu):
    blank = {"what": "", "whole run s": "", "CPU s": "", "vs floor": ""}
    return [{**blank, "what": "floor: a Python process importing numpy and torch",
             "whole run s": f"{floor:.2f}", "CPU s": f"{cpu['floor']:.2f}"},
            {**blank, "what": "fixed cost: onebyone grade on 1 submission, --jobs 1, new output "
                              "folder (target: within 0.4 s of the floor)",
             "whole run s": f"{fixed:.2f}", "vs floor": f"floor + {fixed - floor:.2f} s"},
            {**blank, "what": "  turn by turn (floor / run)",
             "vs floor": ", ".join(f"{f:.2f}/{g:.2f}" for f, g in turns)},
            *({**blank, "what": f"  CPU: {what}", "CPU s": f"{seconds:.2f}"}
              for what, seconds in cpu.items() if what != "floor")]


def run_fixed():
    """`onebyone bench grading.fixed`: the fixed cost only (about a minute)."""
    load_before = os.getloadavg()[0]
    work = pathlib.Path(tempfile.mkdtemp(prefix="onebyone-bench-grading-"))
    try:
        rows = fixed_rows(*fixed_cost(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    blank = dict.fromkeys(rows[0], "")
    rows.append({**blank, "what": f"machine: {os.cpu_count()} cores, load average "
                                  f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"})
    return rows


PARTS = {"fixed": run_fixed}  # onebyone bench grading.fixed


def _floor_cpu():
    """CPU seconds of the floor's process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    _floor()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _floor():
    """A Python process importing numpy and torch: what any grader pays before grading."""
    return _timed([sys.executable, "-c", "import numpy, torch"])


def _medians(measured):
    """(median whole run, median grading phase) of [(whole, grading)] runs."""
    return (statistics.median(m[0] for m in measured),
            statistics.median(m[1] for m in measured))


def _median_run(folder, work, repeats, *options):
    return _medians([onebyone_run(folder, work, *options) for _ in range(repeats)])


def storing_seconds(journal, work, copies=STORED_COPIES, repeats=3):
    """Seconds the main process takes to store one result (gradebook, feedback page, journal),
    handed over in batches as an engine does when results arrive faster than they are stored:
    the median of `repeats` runs over `copies` of the results in `journal`, as new students."""
    from onebyone.tools.grading import result
    from onebyone.tools.grading.outputs import feedback
    from onebyone.tools.grading.store import records

    lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    results = [result.Result.from_json({**lines[i % len(lines)], "student": f"copy{i:05d}"})
               for i in range(copies)]
    sources = layout.sources_of(ROOT)
    feedback.warm_up()

    def once():
        out = pathlib.Path(tempfile.mkdtemp(dir=work))
        book = records.Records(out)
        try:
            book.open_gradebook(f"sqlite:///{out / 'gradebook.db'}", sources)
            start = time.perf_counter()
            book.record(results)
            return (time.perf_counter() - start) / copies
        finally:
            book.close()

    return statistics.median(once() for _ in range(repeats))


def similarity_seconds(submissions, sample=SIMILARITY_SAMPLE, repeats=3):
    """(seconds per submission and solution cell, seconds for `submissions` spread evenly over
    the course's assignments) of the class report's similarity check, the fingerprint index
    (term/similarity_index.py, whose time grows linearly with the class: `onebyone bench
    similarity`), measured on a class of `sample` variants of a real solution cell."""
    from onebyone.tools.bench import similarity as bench_similarity
    from onebyone.tools.term import similarity_index

    solutions = {assignment: [c for c in nbformat.read(path, 4).cells if utils.is_solution(c)]
                 for assignment, path in layout.source_files(ROOT).items()}
    code, released = bench_similarity.solution_code()
    codes = bench_similarity.a_class(sample, code=code, released=released)

    def once():
        start = time.process_time()
        similarity_index.similar_pairs(codes, released)
        return (time.process_time() - start) / sample

    per_cell = statistics.median(once() for _ in range(repeats))
    each = submissions / len(solutions)  # submissions per assignment
    cells = sum(len(found) * each for found in solutions.values())
    return per_cell, per_cell * cells


def _clock(seconds):
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def run(repeats=3, nbgrader_repeats=1):
    from onebyone.tools import local_dask

    load_before = os.getloadavg()[0]
    work = pathlib.Path(tempfile.mkdtemp(prefix="onebyone-bench-grading-"))
    try:
        folder = work / "submitted"
        count = make_class(folder)
        floor, fixed, fixed_turns, cpu = fixed_cost(work)
        # --jobs 1 and --jobs 2 in turns too: their ratio is what the table is for
        turns = [{jobs: onebyone_run(folder, work, "--jobs", str(jobs)) for jobs in (1, 2)}
                 for _ in range(max(repeats, CLASS_REPEATS))]
        runs = {f"--jobs {jobs}": _medians([turn[jobs] for turn in turns]) for jobs in (1, 2)}
        ratios = sorted(turn[1][0] / turn[2][0] for turn in turns)  # whole runs, turn by turn
        with local_dask.LocalCluster(work / "dask", workers=2) as dask:
            runs["--scheduler (local Dask cluster, 2 workers x 1 thread)"] = _median_run(
                folder, work, repeats, "--scheduler", dask.address)
        load_after = os.getloadavg()[0]
        one_job, two_jobs = runs["--jobs 1"], runs["--jobs 2"]
        blank = {"what": "", "whole run s": "", "grading phase s": "", "s per submission": "",
                 "whole run vs --jobs 1": "", "grading vs --jobs 1": "", "vs --jobs 2": ""}
        rows = [{**blank, "what": row["what"], "whole run s": row["whole run s"],
                 "vs --jobs 2": " ".join(filter(None, (row["vs floor"], row["CPU s"]
                                                       and f"CPU {row['CPU s']} s")))}
                for row in fixed_rows(floor, fixed, fixed_turns, cpu)]
        for name, (total, grading) in runs.items():
            rows.append({"what": f"onebyone grade {name}, class of {count}",
                         "whole run s": f"{total:.1f}", "grading phase s": f"{grading:.1f}",
                         "s per submission": f"{grading / count:.3f}",
                         "whole run vs --jobs 1": f"{one_job[0] / total:.2f}x",
                         "grading vs --jobs 1": f"{one_job[1] / grading:.2f}x",
                         "vs --jobs 2": "" if name.startswith("--jobs") else
                         f"whole {two_jobs[0] / total:.2f}x, grading {two_jobs[1] / grading:.2f}x"})
        rows.append({**blank, "what": "--jobs 2 vs --jobs 1, whole runs of the class, turn by "
                                      "turn (target: at least 1.6x)",
                     "vs --jobs 2": ", ".join(f"{r:.2f}x" for r in ratios)})
        if os.environ.get("ONEBYONE_BENCH_NBGRADER", "1") != "0":
            sample = work / "sample"
            make_class(sample, count=NBGRADER_SAMPLE)
            course = nbgrader_course(work, sample)
            plain = statistics.median(nbgrader_run(course) for _ in range(nbgrader_repeats))
            each = plain / NBGRADER_SAMPLE
            ours = one_job[0] / count
            rows.append({**blank, "what": f"plain nbgrader autograde, {NBGRADER_SAMPLE} of the "
                                          "class (target: onebyone --jobs 1 at least 10x faster "
                                          "per submission)",
                         "whole run s": f"{plain:.1f}", "s per submission": f"{each:.3f}",
                         "whole run vs --jobs 1": f"--jobs 1 is {each / ours:.1f}x faster"})
        stored = storing_seconds(next(work.glob("*/journal.jsonl")), work)
        rows.append({**blank, "what": f"the main process storing results ({STORED_COPIES:,} "
                                      "results of the class, as new students)",
                     "s per submission": f"{stored:.4f}"})
        per_cell, similar = similarity_seconds(MOOC_SUBMISSIONS)
        rows.append({**blank, "what": f"the class report's similarity check, a fingerprint "
                                      f"index per solution cell ({per_cell * 1e6:.0f} us a "
                                      f"submission's cell, CPU, linear in the class): "
                                      f"{MOOC_SUBMISSIONS:,} submissions, at the run's end",
                     "whole run s": f"{similar:.0f}", "grading phase s": _clock(similar)})
        per_core = one_job[1] / count  # one worker core's seconds per submission
        for cores in MOOC_CORES:
            # the workers grade while the main process stores: the slower of the two sets the
            # pace; the report's similarity check comes after
            grading, storing = MOOC_SUBMISSIONS * per_core / cores, MOOC_SUBMISSIONS * stored
            seconds = fixed + max(grading, storing) + similar
            bound = "grading" if grading >= storing else "storing in the main process"
            rows.append({**blank, "what": f"on paper: {MOOC_SUBMISSIONS:,} submissions on "
                                          f"{cores:,} worker cores ({per_core:.3f} s each; "
                                          f"bound by {bound}; with the similarity check)",
                         "whole run s": f"{seconds:.0f}", "grading phase s": _clock(seconds)})
        rows.append({**blank, "what": f"machine: {os.cpu_count()} cores, load average "
                                      f"{load_before:.1f} before, {load_after:.1f} after"})
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)
