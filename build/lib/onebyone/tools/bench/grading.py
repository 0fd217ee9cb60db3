"""Grading a class: `onebyone grade --jobs 1` vs `--jobs 2` vs plain `nbgrader autograde` on the
same submissions, and the start-up costs that dominate grading one notebook.

The class: every assignment in solutions/ for enough students to make about 20 submissions (set
ONEBYONE_BENCH_STUDENTS=20 for a class of 20 × every assignment; plain nbgrader then takes
minutes per run), four in five honest (the instructor's solutions in the released notebook), one
in five with one function left as the released stub. Each command runs as a fresh process, as an
instructor would run it; times are medians of several runs.
"""

import os
import pathlib
import re
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

TITLE = "Grading a class with onebyone grade and with plain nbgrader (medians, seconds)"
STUDENTS = os.environ.get("ONEBYONE_BENCH_STUDENTS")  # default: about 20 submissions
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


def make_class(folder, students=None, course=ROOT):
    """Write the class into `folder` (nbgrader's submitted layout); returns the count."""
    count, assignments = 0, batch.sources_of(course)
    students = students or int(STUDENTS or -(-20 // max(len(assignments), 1)))
    for assignment in assignments:
        release = nbformat.read(course / "exercises" / assignment / f"{assignment}.ipynb", 4)
        stubs = [c.metadata.nbgrader["grade_id"] for c in release.cells
                 if c.cell_type == "code" and utils.is_solution(c)]
        for i in range(students):
            stub = stubs[i // 5 % len(stubs)] if i % 5 == 4 and stubs else None
            notebook = honest_notebook(assignment, course, leave_stub=stub)
            where = folder / f"student{i:02d}" / assignment
            where.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, where / f"{assignment}.ipynb")
            count += 1
    return count


def _env():
    return environment.with_env_bin()


def _run(command, cwd=None):
    """(seconds, stderr) of a command that must succeed (exit 1: some submission failed)."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stderr


def _timed(command, cwd=None):
    return _run(command, cwd)[0]


def onebyone_run(folder, jobs, work):
    """(whole run, grading phase) seconds of `onebyone grade` in a fresh output folder. The
    grading phase (from the run's summary) is what --jobs spreads over the cores; the rest is
    the fixed cost of imports and a new gradebook."""
    out = pathlib.Path(tempfile.mkdtemp(dir=work))
    seconds, stderr = _run([BIN / "onebyone", "grade", folder, "--out", out, "--jobs", str(jobs)])
    found = re.search(r"unchanged since an earlier run\) in ([0-9.]+) s", stderr)
    return seconds, float(found.group(1)) if found else float("nan")


def nbgrader_course(work, folder):
    """A throwaway nbgrader course over the same submissions, assignments generated."""
    course = work / "nbgrader-course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for assignment in batch.sources_of(ROOT):
        shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
        subprocess.run([BIN / "nbgrader", "generate_assignment", assignment, "--force"],
                       cwd=course, env=_env(), capture_output=True, check=True)
    shutil.copytree(folder, course / "submitted")
    return course


def nbgrader_run(course):
    """Plain nbgrader: autograde every assignment of the class, one notebook at a time."""
    shutil.rmtree(course / "autograded", ignore_errors=True)
    total = 0.0
    for assignment in batch.sources_of(ROOT):
        total += _timed([BIN / "nbgrader", "autograde", assignment, "--create", "--force"],
                        cwd=course)
    return total


def startup_costs(work, repeats):
    """Median seconds to start each thing a grader needs before a student's first cell runs."""
    from jupyter_client.manager import KernelManager

    from onebyone.tools.grading import agent, remote, sandbox

    def python_with_torch():
        _timed([sys.executable, "-c", "import numpy, torch"])

    def jupyter_kernel():
        manager = KernelManager(kernel_name="python3")
        manager.start_kernel()
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=120)
        client.execute_interactive("import numpy, torch", timeout=120)
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    agent.warm_up()
    notebook = work / "startup.ipynb"
    nbformat.write(honest_notebook(next(iter(batch.sources_of(ROOT)))), notebook)

    def sandbox_child():
        child = sandbox.Child(str(notebook), "startup.ipynb", sandbox.Limits(), [str(ROOT)])
        session = remote.Session(child, time.monotonic() + 60, 1 << 26)
        session.run_cell("import numpy, torch")
        child.stop()

    costs = {
        "python process + import numpy, torch": python_with_torch,
        "jupyter kernel start + import numpy, torch (nbgrader: per notebook)": jupyter_kernel,
        "sandbox child: fork, fence, shell, first cell (onebyone: per submission)": sandbox_child,
    }
    return {name: statistics.median(_seconds(action) for _ in range(repeats))
            for name, action in costs.items()}


def _seconds(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(repeats=3, nbgrader_repeats=2):
    work = pathlib.Path(tempfile.mkdtemp(prefix="onebyone-bench-grading-"))
    try:
        folder, empty = work / "submitted", work / "empty"
        empty.mkdir()
        count = make_class(folder)
        # a run's fixed cost (imports, a new gradebook), measured on an empty folder: what is
        # left of a run's time is the grading, which --jobs spreads over the cores
        fixed = statistics.median(onebyone_run(empty, 1, work)[0] for _ in range(repeats))
        runs = {}
        for jobs in (1, 2):
            measured = [onebyone_run(folder, jobs, work) for _ in range(repeats)]
            runs[f"onebyone grade --jobs {jobs}"] = (statistics.median(m[0] for m in measured),
                                                     statistics.median(m[1] for m in measured))
        course = nbgrader_course(work, folder)
        plain = statistics.median(nbgrader_run(course) for _ in range(nbgrader_repeats))
        base = runs["onebyone grade --jobs 1"][1]
        blank = {"whole run s": "", "grading phase s": "", "s per submission": "",
                 "grading speed-up vs jobs 1": "", "whole run vs nbgrader": ""}
        rows = [{"what": f"{name} ({count} submissions)", "whole run s": f"{total:.1f}",
                 "grading phase s": f"{grading:.1f}", "s per submission": f"{grading / count:.3f}",
                 "grading speed-up vs jobs 1": f"{base / grading:.2f}x",
                 "whole run vs nbgrader": f"{plain / total:.2f}x faster"}
                for name, (total, grading) in runs.items()]
        rows.append({**blank, "what": f"nbgrader autograde, plain ({count} submissions)",
                     "whole run s": f"{plain:.1f}", "s per submission": f"{plain / count:.3f}",
                     "whole run vs nbgrader": "1.00x"})
        costs = {"onebyone grade on an empty folder (fixed cost of a run)": fixed,
                 **startup_costs(work, repeats)}
        rows += [{**blank, "what": f"start-up: {name}", "whole run s": f"{seconds:.3f}"}
                 for name, seconds in costs.items()]
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)
