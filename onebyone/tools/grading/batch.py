"""Grade a whole class: find the submissions, hand them to an engine, and record each result in
the main process as soon as it arrives (one writer for the gradebook, journal, tables, feedback).

Two engines (engine.Engine) grade the same way (a warm worker gets a fenced student process per
submission from its student fork server, sandbox/):
- pool.py, the default: worker processes on this machine (`--jobs`);
- cluster.py: the workers of a Dask cluster (`--scheduler ADDRESS`).
The engine starts first, so its workers warm up while the gradebook is prepared; no submission is
graded before the gradebook is known to work.
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from onebyone.tools import environment
from onebyone.tools.grading import collector_paused, result, sandbox, submissions
from onebyone.tools.grading.course import source_files, sources_of
from onebyone.tools.grading.engines.engine import Engine
from onebyone.tools.grading.outputs import progress
from onebyone.tools.grading.store import records

if TYPE_CHECKING:
    from onebyone.tools.grading.engines.hub import Hub

ROOT = environment.course_root()
HUB_EXIT_SECONDS = 10  # at a run's end its workers are idle and leave at once


class CannotGrade(Exception):
    """The run cannot start: the gradebook or the cluster cannot be used (one line says why)."""


def _key(job, source_bytes, limits, code):
    """The content key: the notebook's bytes, its source, the limits and the package's code."""
    source = source_bytes.get(job.assignment)
    extra = json.dumps({"code": code, "limits": dataclasses.asdict(limits),
                        "source": hashlib.sha256(source).hexdigest() if source else None,
                        "problem": job.problem, "notes": list(job.notes) or None},
                       sort_keys=True)
    notebook = pathlib.Path(job.notebook) if job.notebook else None
    return submissions.content_key(notebook, extra)


def _sqlite_file(db_url):
    if db_url.startswith("sqlite:///"):
        return str(pathlib.Path(db_url[len("sqlite:///"):]).resolve())
    return None


def start_engine(scheduler: str | None, jobs: int, course: pathlib.Path, assignment_ids: list,
                 limits: sandbox.Limits, hub: "Hub | None" = None) -> Engine:
    """The engine that grades this run's submissions, started (its workers warming up); the
    local one's workers come from `hub` when the run started one."""
    if scheduler:
        from onebyone.tools.grading.engines import cluster

        return _engine_step(lambda: cluster.DaskEngine(scheduler, course, assignment_ids, limits))
    from onebyone.tools.grading.engines import pool

    return pool.LocalPool(jobs, limits, hub)


@contextlib.contextmanager
def _early_hub(scheduler: str | None, limits: sandbox.Limits, out: pathlib.Path,
               regrade: bool) -> "Iterator[Hub | None]":
    """The local engine's hub (hub.py), started before anything heavy is imported here, so its
    imports (numpy, torch, IPython: the floor of a run) overlap this process's own (nbgrader's
    configuration, the gradebook), or None. Only for a first run into `out` (no journal yet) or
    a regrade: a rerun may find nothing to grade, and then starts no hub at all. At the end,
    closed and waited for."""
    hub = None
    fenceable = not limits.fence or sandbox.fence.bwrap() is not None
    if not scheduler and fenceable and (regrade or not (out / "journal.jsonl").exists()):
        from onebyone.tools.grading.engines.hub import Hub

        try:
            hub = Hub(limits.fence)
        except (OSError, subprocess.SubprocessError):
            hub = None  # the fence cannot start here: sandbox.problem() says why, next
    try:
        yield hub
    except BaseException:  # Ctrl-C, say: no waiting for the workers' last submissions
        if hub is not None:
            hub.close()
        raise
    if hub is not None:
        hub.close(wait=HUB_EXIT_SECONDS)


def grade(submitted: str | pathlib.Path, out: str | pathlib.Path, jobs: int | None = None,
          assignment_ids: list[str] | None = None, db_url: str | None = None,
          limits: sandbox.Limits | None = None, course: pathlib.Path = ROOT,
          regrade: bool = False, stream: TextIO | None = None,
          scheduler: str | None = None,
          roster: pathlib.Path | None = None) -> int:
    """Grade every submission under `submitted` (folder or .zip: nbgrader's layout or a Canvas or
    Moodle download, see term/intake.py) into `out` and the course's gradebook (`db_url`
    overrides), on this machine (`jobs` workers) or on the Dask cluster at `scheduler`;
    `roster`: the class list (term/roster.py). Returns the process exit code: 0 when every
    submission was graded normally, 1 otherwise."""
    stream = stream or sys.stderr
    limits = limits or sandbox.Limits()
    jobs = jobs or os.cpu_count() or 1
    out = pathlib.Path(out).resolve()
    submitted = pathlib.Path(submitted).resolve()
    course = pathlib.Path(course).resolve()
    if out.exists() and not out.is_dir():
        raise CannotGrade(f"--out {out} is a file: give a folder (it is made if missing)")
    files = source_files(course)
    unknown = sorted(set(assignment_ids or ()) - set(files))
    if unknown:
        raise submissions.BadSubmissions(
            f"unknown assignment(s): {', '.join(unknown)}; known: {', '.join(files)}")
    known = set(files)
    if assignment_ids:
        files = {k: v for k, v in files.items() if k in assignment_ids}
    with _early_hub(scheduler, limits, out, regrade) as hub:
        # checked while the hub starts: where the fence cannot work, the hub fails at once too
        if limits.fence and not scheduler and (problem := sandbox.problem()):
            raise CannotGrade(f"cannot fence student code in: {problem}")
        from onebyone.tools.term import class_run, intake  # nbgrader's config: about a second

        try:
            term = class_run.prepare(course, roster, db_url)
        except class_run.TermError as error:
            raise CannotGrade(str(error)) from None
        db_url = term.db_url

        unpacked = out / "unpacked"
        if submitted.is_file():  # a zip: unpacked afresh (what an earlier run unpacked is stale)
            shutil.rmtree(unpacked, ignore_errors=True)
            unpacked.mkdir(parents=True)
        try:
            intook = class_run.read_submissions(term, submitted, unpacked, assignment_ids, known)
        except intake.CannotRead as error:
            raise submissions.BadSubmissions(str(error)) from None
        if (nothing := intook.nothing_matched()) is not None:
            raise submissions.BadSubmissions(f"{submitted}: {nothing}")
        matched, unmatched = class_run.jobs_of(intook, assignment_ids)
        skipped = [f"{u.path}: {u.reason}" for u in unmatched]

        code = result.code_fingerprint()
        source_bytes = {assignment: path.read_bytes() for assignment, path in files.items()}
        found = [dataclasses.replace(job, key=_key(job, source_bytes, limits, code))
                 for job in matched]

        book = records.Records(out)
        pending = [job for job in found if regrade or book.earlier(job) is None]
        # the assignments submitted here are read (and saved to the gradebook), and with a roster
        # those asked for, whose students all get a row
        asked = set(assignment_ids or ()) if term.students else set()
        present = sorted(({job.assignment for job in found} | asked) & set(files)) or ["(none)"]
        if not db_url.startswith("sqlite:"):  # a database elsewhere: is it there, before we start?
            _gradebook_step(lambda gradebook: gradebook.check(db_url))
        engine = None
        try:
            if pending:
                # no more workers than submissions: an idle one would only compete for a core
                engine = start_engine(scheduler, min(jobs, len(pending)), course, present,
                                      limits, hub)
            with collector_paused():  # mostly imports (nbgrader's ORM, nbconvert)
                sources = sources_of(course, present)
                _gradebook_step(lambda _: book.open_gradebook(db_url, sources))
            _gradebook_step(lambda _: class_run.record_class(
                book.gradebook, term, class_run.times_of(intook, found)))
            bar = progress.Progress(len(found), stream)
            waiting = {id(job) for job in pending}
            reused = [book.earlier(job) for job in found if id(job) not in waiting]
            for earlier in reused:
                bar.update(earlier, reused=True)
            # the gradebook holds every result of the run, even one graded by an earlier run
            # into another gradebook; a score given by hand since stays (gradebook.record_scores)
            _gradebook_step(lambda _: book.record_in_gradebook(reused))

            def on_results(graded):
                _gradebook_step(lambda _: book.record(graded))
                for each in graded:
                    bar.update(each)

            start = time.monotonic()  # the grading phase: what the engine spreads over workers
            if pending:
                _engine_step(lambda: engine.grade(pending, sources, on_results,
                                                  meanwhile=_ready_the_pages))
            seconds = time.monotonic() - start
            try:
                class_run.apply_late_policy(book.gradebook, term,
                                            [a for a in present if a in sources])
            except class_run.TermError as error:
                raise CannotGrade(str(error)) from None
            recorded = class_run.gradebook_scores(book.gradebook, sorted(sources))
            changed = book.take_recorded(found, recorded) | {job.who for job in pending}
            class_run.with_platform_marks(intook, book.results)
            absent = class_run.not_submitted(term, sorted(asked & set(sources)), found,
                                             {a: s.max_score() for a, s in sources.items()})
            book.write_tables(found, absent)
            layout = class_run.leave_nbgrader_layout(term, intook, found, book.results, out,
                                                     set(sources), changed)
            exports = book.write_exports(term.students,
                                         sorted(asked | {j.assignment for j in found}
                                                & set(sources)))
        finally:
            if engine is not None:
                engine.close()
            book.close()
        results = [book.results[job.who] for job in found]
        _summary(results, len(pending), seconds, skipped, out, stream, limits.fence, absent,
                 exports)
        stream.write(class_run.layout_summary(layout, course))
        from onebyone.tools.grading.outputs import (
            report,  # the class report, written at every run's end
        )

        stream.write(f"Class report: {report.write(out, results + absent, sources, found)}\n")
        return 0 if all(r.normal for r in results) else 1


def _ready_the_pages():
    """While the workers warm up or grade: import what the feedback pages and the class report
    are made with (Jinja2, the similarity index) and compile their templates, so that neither
    the first result nor the report at the end of the run waits for them."""
    with contextlib.suppress(ImportError), collector_paused():  # ImportError: the page says it
        from onebyone.tools.grading.outputs import feedback, report

        feedback.warm_up()
        report.warm_up()


def _engine_step(step):
    """step(), a Dask cluster's ClusterError or the local hub's HubError told as CannotGrade."""
    try:
        return step()
    except Exception as error:
        hub = sys.modules.get("onebyone.tools.grading.engines.hub")
        if hub is not None and isinstance(error, hub.HubError):
            raise CannotGrade(str(error)) from None
        cluster = sys.modules.get("onebyone.tools.grading.engines.cluster")  # with --scheduler
        if cluster is not None and isinstance(error, cluster.ClusterError):
            raise CannotGrade(str(error)) from None
        raise


def _gradebook_step(step):
    """step(the gradebook module), its GradebookError told as CannotGrade."""
    from onebyone.tools.grading.store import gradebook

    try:
        step(gradebook)
    except gradebook.GradebookError as error:
        raise CannotGrade(str(error)) from None


def _summary(results: list[result.Result], graded_now: int, seconds: float, skipped: list[str],
             out: pathlib.Path, stream, fenced: bool = True, absent: list = (),
             exports: list = ()) -> None:
    """What happened, in a few lines: counts by status, every submission that needs a look,
    what was not matched, who did not submit, and where everything is (only what exists)."""
    def say(text=""):
        stream.write(text + "\n")

    by_status = {}
    for graded in results:
        by_status.setdefault(graded.status.value, []).append(graded)
    say()
    unchanged = len(results) - graded_now
    say(f"{len(results)} submission(s) ({graded_now} now, {unchanged} unchanged since an earlier "
        "run: kept, not graded again)"
        + (f"; graded in {seconds:.1f} s, {seconds / graded_now:.2f} s per submission."
           if graded_now else "."))
    for status, group in sorted(by_status.items()):
        say(f"  {status}: {len(group)}")
    trouble = [r for r in results if not r.normal]
    if trouble:
        say("Not graded normally:")
        for r in trouble:
            detail = next((n for n in r.notes if "\n" not in n), "")
            say(f"  {r.student}/{r.assignment}: {r.status}"
                + (f" ({detail[:160]})" if detail else ""))
    if skipped:
        say(f"Not matched to a student and an assignment, not graded ({len(skipped)}):")
        for entry in skipped:
            say(f"  {entry}")
    if absent:
        say(f"Not submitted ({len(absent)} of the roster): "
            + ", ".join(f"{r.student}/{r.assignment}" for r in absent[:20])
            + (f" and {len(absent) - 20} more" if len(absent) > 20 else ""))
    if not fenced:
        say("--no-fence: student code ran unfenced, as your own user: it could read and write "
            "what you can (your course folders, solutions/ included). See the instructor guide.")
    tables = [p for p in (out / "grades.csv", out / "items.csv", *exports) if p.is_file()]
    feedback = out / "feedback"
    say(f"Tables: {', '.join(map(str, tables))}"
        + (f"; feedback in {feedback}" if feedback.is_dir() else ""))
