"""Grade a whole class: find the submissions, grade them side by side in worker processes, and
record each result in the main process as soon as it arrives (one writer for the gradebook).

A worker is forked from this process with numpy, torch and IPython already imported; for each
submission it forks a sandboxed child of its own (sandbox.py), so no submission pays for the
imports and none can disturb another.
"""

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
import pathlib
import shutil
import sys
import time
from concurrent.futures.process import BrokenProcessPool

from onebyone.tools import environment
from onebyone.tools.grading import (
    agent,
    plan,
    progress,
    records,
    result,
    runner,
    sandbox,
    submissions,
)

ROOT = environment.course_root()
_WORKER = {}  # what each worker process grades with (set by _start_worker)


def sources_of(course, assignment_ids=None):
    """{id: plan.Source} for solutions/<id>/<id>.ipynb (with its release, for checksums)."""
    found = {}
    for path in sorted((course / "solutions").glob("*/*.ipynb")):
        if path.stem == path.parent.name and (not assignment_ids or path.stem in assignment_ids):
            release = course / "exercises" / path.stem / path.name
            found[path.stem] = plan.Source(path, release)
    return found


def _start_worker(sources, limits, hidden):
    _WORKER.update(sources=sources, limits=limits, hidden=hidden)


def _grade_in_worker(job):
    return runner.grade_job(job, _WORKER["sources"], _WORKER["limits"], _WORKER["hidden"])


def _key(job, sources, limits, code):
    """The content key: the notebook's bytes, its source, the limits and the package's code."""
    source = sources.get(job["assignment"])
    extra = json.dumps({"code": code, "limits": dataclasses.asdict(limits),
                        "source": hashlib.sha256(source.text).hexdigest() if source else None,
                        "problem": job.get("problem"), "notes": job.get("notes")},
                       sort_keys=True)
    notebook = job.get("notebook")
    return submissions.content_key(pathlib.Path(notebook) if notebook else None, extra)


def _sqlite_file(db_url):
    if db_url.startswith("sqlite:///"):
        return str(pathlib.Path(db_url[len("sqlite:///"):]).resolve())
    return None


def _grade_all(pending, jobs, sources, limits, hidden, on_result):
    """Grade `pending` in `jobs` workers; call on_result(result) for each in the main process.
    If a worker dies (it should not: student code runs in its own child), the unfinished ones
    are retried once in a new pool, then recorded as a grader error."""
    attempts = {id(job): 0 for job in pending}
    agent.warm_up()  # before the workers are forked: they inherit the imports
    while pending:
        context = multiprocessing.get_context("fork")
        retry = []
        with concurrent.futures.ProcessPoolExecutor(
                max_workers=jobs, mp_context=context, initializer=_start_worker,
                initargs=(sources, limits, hidden)) as pool:
            futures = {pool.submit(_grade_in_worker, job): job for job in pending}
            for future in concurrent.futures.as_completed(futures):
                job = futures[future]
                try:
                    on_result(future.result())
                except BrokenProcessPool:
                    attempts[id(job)] += 1
                    if attempts[id(job)] < 2:
                        retry.append(job)
                    else:
                        source = sources.get(job["assignment"])
                        on_result(result.Result(
                            job["student"], job["assignment"], job["key"],
                            result.Status.GRADER_ERROR, items=[],
                            notes=["the grading worker died twice on this submission"],
                            max_score=source.max_score() if source else 0.0))
        pending = retry


def grade(submitted, out, jobs=None, assignment_ids=None, db_url=None, limits=None,
          course=ROOT, regrade=False, stream=None):
    """Grade every submission under `submitted` (folder or .zip) into `out`. Returns the
    process exit code: 0 when every submission was graded normally, 1 otherwise."""
    stream = stream or sys.stderr
    limits = limits or sandbox.Limits()
    jobs = jobs or os.cpu_count() or 1
    out = pathlib.Path(out).resolve()
    submitted = pathlib.Path(submitted).resolve()
    db_url = db_url or f"sqlite:///{out / 'gradebook.db'}"
    sources = sources_of(course)
    unknown = sorted(set(assignment_ids or ()) - set(sources))
    if unknown:
        raise submissions.BadSubmissions(
            f"unknown assignment(s): {', '.join(unknown)}; known: {', '.join(sources)}")
    if assignment_ids:
        sources = {k: v for k, v in sources.items() if k in assignment_ids}

    skipped = []
    if submitted.is_file() and submitted.suffix == ".zip":
        unpacked = out / "unpacked"
        shutil.rmtree(unpacked, ignore_errors=True)
        unpacked.mkdir(parents=True)
        skipped = submissions.unpack(submitted, unpacked)
        root = submissions.root_of(unpacked)
    elif submitted.is_dir():
        root = submitted
    else:
        raise submissions.BadSubmissions(f"{submitted} is neither a folder nor a .zip file")

    found = submissions.find(root, assignment_ids)
    code = result.code_fingerprint()
    for job in found:
        job["key"] = _key(job, sources, limits, code)
    # hidden from student code: this course and the one the package comes from (their
    # solutions), the output, the submissions (see sandbox.py for what stays visible)
    hidden = [str(course.resolve()), str(environment.source_checkout() or course), str(out),
              str(root), str(submitted), _sqlite_file(db_url)]

    book = records.Records(out, db_url, sources)
    bar = progress.Progress(len(found), stream)
    start = time.monotonic()
    pending = []
    for job in found:
        earlier = None if regrade else book.earlier(job)
        if earlier is not None:
            bar.update(earlier, reused=True)
        else:
            pending.append(job)

    def on_result(graded):
        book.record(graded, graded.assignment in sources)
        bar.update(graded)

    try:
        if pending:
            _grade_all(pending, jobs, sources, limits, hidden, on_result)
        book.write_tables(found)
    finally:
        book.close()
    results = [book.results[(j["student"], j["assignment"])] for j in found]
    _summary(results, len(pending), time.monotonic() - start, skipped, out, stream)
    from onebyone.tools.grading import report  # the class report, written at every run's end

    stream.write(f"Class report: {report.write(out, results, sources, found)}\n")
    return 0 if all(r.normal for r in results) else 1


def _summary(results, graded_now, seconds, skipped, out, stream):
    """What happened, in a few lines: counts by status and every submission that needs a look."""
    def say(text=""):
        stream.write(text + "\n")

    by_status = {}
    for graded in results:
        by_status.setdefault(graded.status.value, []).append(graded)
    say()
    say(f"Graded {len(results)} submission(s) ({graded_now} now, {len(results) - graded_now} "
        f"unchanged since an earlier run) in {seconds:.1f} s"
        + (f", {seconds / graded_now:.2f} s per submission." if graded_now else "."))
    for status, group in sorted(by_status.items()):
        say(f"  {status}: {len(group)}")
    trouble = [r for r in results if not r.normal]
    if trouble:
        say("Not graded normally:")
        for r in trouble:
            detail = next((n for n in r.notes if "\n" not in n), "")
            say(f"  {r.student}/{r.assignment}: {r.status}"
                + (f" ({detail[:160]})" if detail else ""))
    for entry in skipped:
        say(f"  not unpacked: {entry}")
    if not sandbox.can_isolate():
        say("Note: not running as root, so student code ran as your own user, without the "
            "namespaces that hide the course's files (see the instructor guide).")
    say(f"Tables: {out / 'grades.csv'}, {out / 'items.csv'}; feedback in {out / 'feedback'}")
