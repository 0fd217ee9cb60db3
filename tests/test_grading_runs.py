"""`onebyone grade` as a run: killed midway and restarted, fed a zip, given tight limits."""

import os
import pathlib
import signal
import subprocess
import sys
import time
import zipfile

import grading_samples as samples
import nbformat
import pytest
from nbgrader.api import Gradebook

from onebyone.tools import cli, environment
from onebyone.tools.grading import submissions

A = "one-by-one"


def small_class(folder, count):
    """`count` distinct submissions (honest, every other one with a wrong fold_1x1)."""
    notebooks = {}
    for i in range(count):
        notebook = samples.honest(A)
        if i % 2:
            samples.set_code(notebook, samples.FOLD_ITEM, samples.WRONG_FOLD)
        samples.add_after(notebook, "setup", f"student_number = {i}")
        notebooks[f"s{i:02d}"] = notebook
    samples.write_class(folder, A, {s: samples.dumps(nb) for s, nb in notebooks.items()})
    return notebooks


def journal_entries(out):
    """Complete journal lines, as (student, key) pairs."""
    import json

    entries = []
    for line in (out / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            result = json.loads(line)
        except ValueError:
            continue
        entries.append((result["student"], result["key"]))
    return entries


def test_a_killed_run_resumes_without_losing_or_redoing_grades(tmp_path):
    folder, out = tmp_path / "submitted", tmp_path / "out"
    notebooks = small_class(folder, 8)
    command = [sys.executable, "-m", "onebyone.tools.cli", "grade", str(folder), "--out", str(out),
               "--jobs", "1"]
    env = environment.with_env_bin()
    run = subprocess.Popen(command, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and run.poll() is None:
        if (out / "journal.jsonl").exists() and len(journal_entries(out)) >= 3:
            break
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)  # the whole run: main process and workers
    run.wait()
    recorded = journal_entries(out)
    assert 3 <= len(recorded) < len(notebooks), "the run was not stopped midway"

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    table = samples.read_csv(out / "grades.csv")
    assert sorted(r["student_id"] for r in table) == sorted(notebooks)
    entries = journal_entries(out)
    assert entries[:len(recorded)] == recorded  # nothing recorded was lost...
    assert sorted(s for s, _ in entries) == sorted(notebooks)  # ...or graded twice
    assert f"{len(recorded)} unchanged" in done.stderr
    for row in table:
        expected = samples.reference_scores(notebooks[row["student_id"]], A)
        assert float(row["score"]) == sum(expected.values()), row


@pytest.mark.parametrize("when", ["while the workers warm up", "while they grade"])
def test_ctrl_c_stops_a_run_in_one_line_and_loses_nothing(tmp_path, when):
    folder, out = tmp_path / "submitted", tmp_path / "out"
    notebooks = small_class(folder, 8)
    command = [environment.env_bin() / "onebyone", "grade", folder, "--out", out, "--jobs", "2"]
    env = environment.with_env_bin()
    # as in a terminal: Ctrl-C reaches the whole group, workers too, with SIGINT not ignored
    # (a test run in the background inherits it ignored)
    interruptible = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                     "os.execv(sys.argv[1], sys.argv[1:])")
    run = subprocess.Popen([sys.executable, "-c", interruptible, *map(str, command)], env=env,
                           start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + (0.6 if when.endswith("warm up") else 240)
    while time.monotonic() < deadline and run.poll() is None:
        if (out / "journal.jsonl").exists() and journal_entries(out):
            break
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGINT)
    stderr = run.communicate(timeout=60)[1]
    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("onebyone grade: interrupted.")
    recorded = journal_entries(out) if (out / "journal.jsonl").exists() else []
    assert len(recorded) < len(notebooks), "the run was not stopped midway"
    if when.endswith("grade"):
        assert recorded

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{len(recorded)} unchanged" in done.stderr
    assert sorted(r["student_id"] for r in samples.read_csv(out / "grades.csv")) == \
        sorted(notebooks)


def host_pid(inner: int, ancestor: int) -> int:
    """The pid, as this process sees it, of the descendant of `ancestor` whose pid in its own
    (innermost) pid namespace is `inner`: a fenced worker's pid is the hub's namespace's."""
    status = {}
    for path in pathlib.Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in path.read_text().splitlines()
                          if ":\t" in line)
        except OSError:
            continue
        status[int(path.parent.name)] = (int(fields["PPid"]), fields["NSpid"].split())
    for pid, (_, nspids) in status.items():
        parent = pid
        while parent in status and parent != ancestor:
            parent = status[parent][0]
        if parent == ancestor and pid != ancestor and int(nspids[-1]) == inner:
            return pid
    raise LookupError(f"no descendant of {ancestor} is {inner} in its namespace")


def test_a_worker_killed_mid_run_is_replaced_and_nothing_is_lost(tmp_path, monkeypatch):
    from onebyone.tools.grading import batch
    from onebyone.tools.grading.engines import hub
    from onebyone.tools.grading.store import records

    notebooks = small_class(tmp_path / "submitted", 6)
    killed, workers = [], []
    real_record, real_take = records.Records.record, hub.Hub.take_worker

    def record(self, results):  # after the first results, one worker dies
        real_record(self, results)
        if not killed:
            killed.append(workers[0])
            os.kill(killed[0], signal.SIGKILL)

    def take_worker(self):
        pid, sock = real_take(self)
        workers.append(host_pid(pid, self.process.pid))
        return pid, sock

    monkeypatch.setattr(records.Records, "record", record)
    monkeypatch.setattr(hub.Hub, "take_worker", take_worker)
    code = batch.grade(tmp_path / "submitted", tmp_path / "out", jobs=2)
    assert killed and code == 0
    assert len(workers) == 3  # the first two, and the one its unfinished submission went to
    rows = samples.read_csv(tmp_path / "out" / "grades.csv")
    assert sorted(r["student_id"] for r in rows) == sorted(notebooks)
    assert {r["status"] for r in rows} == {"graded"}
    assert sorted(s for s, _ in journal_entries(tmp_path / "out")) == sorted(notebooks)


def test_no_more_workers_start_than_there_are_submissions(tmp_path, monkeypatch):
    from onebyone.tools.grading import batch

    started = []
    real_start = batch.start_engine

    def start_engine(scheduler, jobs, *rest):
        started.append(jobs)
        return real_start(scheduler, jobs, *rest)

    monkeypatch.setattr(batch, "start_engine", start_engine)
    small_class(tmp_path / "submitted", 1)
    code = batch.grade(tmp_path / "submitted", tmp_path / "out", jobs=2)
    assert code == 0
    assert started == [1]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="two workers use the fork server from 3.11")
def test_no_module_of_the_folder_the_grader_runs_in_is_imported(tmp_path):
    """Two workers start from a fork server, a new interpreter run with `-c`, which would put the
    current folder first on its import path: here, a folder with look-alike modules."""
    small_class(tmp_path / "submitted", 2)
    here, marker = tmp_path / "here", tmp_path / "imported"
    here.mkdir()
    for module in ("onebyone", "numpy", "torch", "IPython"):
        (here / f"{module}.py").write_text(f"open({str(marker)!r}, 'a').write({module!r})\n"
                                           "raise ImportError('not the real one')\n")
    done = subprocess.run(
        [environment.env_bin() / "onebyone", "grade", tmp_path / "submitted", "--out",
         tmp_path / "out", "--jobs", "2"],
        cwd=here, env=environment.with_env_bin(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), f"imported from the current folder: {marker.read_text()}"


def test_a_zip_is_unpacked_safely(tmp_path, capsys):
    honest = samples.dumps(samples.honest(A))
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"submitted/ann/{A}/{A}.ipynb", honest)
        zipped.writestr(f"submitted/ben/{A}/{A}.ipynb", "not a notebook")
        zipped.writestr("../escaped.txt", "outside")
        zipped.writestr("/tmp/absolute-escape.txt", "outside")
        link = zipfile.ZipInfo("submitted/ann/link")
        link.external_attr = 0o120777 << 16  # a symbolic link to /etc/passwd
        zipped.writestr(link, "/etc/passwd")
    out = tmp_path / "out"
    code = cli.main(["grade", str(archive), "--out", str(out), "--jobs", "2"])
    assert code == 1  # ben's notebook is invalid
    rows = {r["student_id"]: r for r in samples.read_csv(out / "grades.csv")}
    assert rows["ann"]["status"] == "graded" and float(rows["ann"]["score"]) == 10
    assert rows["ben"]["status"] == "invalid notebook"
    assert not (tmp_path / "escaped.txt").exists() and not (out / "escaped.txt").exists()
    assert not os.path.exists("/tmp/absolute-escape.txt")
    assert not (out / "unpacked" / "submitted" / "ann" / "link").exists()
    err = capsys.readouterr().err
    assert "path leaves the folder" in err and "links are not unpacked" in err


def test_an_oversized_zip_is_refused_with_a_clear_error(tmp_path, monkeypatch, capsys):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(f"s/{A}/{A}.ipynb", "0" * 50_000)
    monkeypatch.setattr(submissions, "MAX_ZIP_BYTES", 10_000)
    assert cli.main(["grade", str(archive), "--out", str(tmp_path / "out")]) == 2
    assert "unpacks to more than" in capsys.readouterr().err


def test_the_memory_cap_applies_and_unknown_assignments_are_reported(tmp_path, capsys):
    folder = tmp_path / "submitted"
    big = samples.add_after(samples.honest(A), "setup", "spare = np.empty(2**28)  # 2 GiB")
    samples.write_class(folder, A, {"fits": samples.dumps(samples.honest(A)),
                                    "big": samples.dumps(big)})
    samples.write_class(folder, "no-such-assignment", {"fits": "{}"})
    # 1600 MB: the course's own work (torch, its threads' stacks) fits with room to spare, under
    # load too (at 1200 MB a torch call could die of SIGSEGV); two more GiB of address space do not
    gradebook = tmp_path / "elsewhere" / "gradebook.db"
    gradebook.parent.mkdir()
    code = cli.main(["grade", str(folder), "--out", str(tmp_path / "out"), "--memory", "1600",
                     "--jobs", "2", "--db-url", f"sqlite:///{gradebook}"])
    assert code == 1
    rows = {(r["student_id"], r["assignment_id"]): r
            for r in samples.read_csv(tmp_path / "out" / "grades.csv")}
    assert rows[("fits", A)]["status"] == "graded"
    assert rows[("big", A)]["status"] == "memory limit"
    assert "MemoryError" in rows[("big", A)]["note"]
    assert float(rows[("fits", A)]["score"]) == float(rows[("big", A)]["score"]) == 10
    assert rows[("fits", "no-such-assignment")]["status"] == "unknown assignment"
    assert "fits/no-such-assignment: unknown assignment" in capsys.readouterr().err
    assert not (tmp_path / "out" / "gradebook.db").exists()  # --db-url was used instead
    with Gradebook(f"sqlite:///{gradebook}") as book:
        assert book.find_submission(A, "big").score == 10


@pytest.mark.parametrize("argv, says", [
    (["--jobs", "0"], "--jobs must be at least 1 (got 0)"),
    (["--memory", "10"], "--memory must be at least 256 MB (got 10)"),
    (["--timeout", "0"], "--timeout must be at least 5 seconds (got 0)"),
    (["--timeout", "-1"], "--timeout must be at least 5 seconds (got -1)"),
    (["--timeout", "0.5"], "--timeout must be at least 5 seconds (got 0.5)"),
    (["--timeout", "nan"], "--timeout must be at least 5 seconds (got nan)"),
    (["--item-timeout", "0"], "--item-timeout must be positive and at most --timeout")])
def test_bad_limits_are_refused_each_by_name(tmp_path, argv, says, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["grade", str(tmp_path), "--out", str(tmp_path / "out"), *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert says in err
    assert err.count("must be") == 1  # only the option that is wrong is named


def test_two_bad_limits_are_each_named(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["grade", str(tmp_path), "--out", str(tmp_path / "out"), "--jobs", "0",
                  "--timeout", "-1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--jobs must be at least 1 (got 0)" in err
    assert "--timeout must be at least 5 seconds (got -1)" in err


def test_an_unknown_assignment_is_refused(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path), "--out", str(tmp_path / "out"),
                     "--assignment", "nope"]) == 2
    assert "unknown assignment(s): nope" in capsys.readouterr().err


def test_each_worker_preloads_the_checks_its_assignments_import():
    from onebyone.tools.grading import batch, course

    checks = {path.stem for path in (batch.ROOT / "onebyone" / "checks").glob("*.py")}
    for assignment, source in course.sources_of(batch.ROOT).items():
        module = assignment.replace("-", "_")
        assert module in checks, f"{assignment} has no checks module of its name"
        assert f"onebyone.checks.{module}" in source.course_modules()


def test_the_pages_are_readied_once_while_the_first_submissions_are_graded():
    from onebyone.tools.grading import result, sandbox
    from onebyone.tools.grading.engines import pool

    jobs = [result.Job(f"s{i}", "not-a-course-assignment", key=str(i)) for i in range(3)]
    results, readied = [], []
    engine = pool.LocalPool(1, sandbox.Limits())
    try:
        engine.grade(jobs, {}, results.extend, meanwhile=lambda: readied.append(len(results)))
    finally:
        engine.close()
    assert readied == [0]  # once, with every submission handed out and none recorded yet
    assert [r.status for r in results] == [result.Status.UNKNOWN_ASSIGNMENT] * 3


def test_the_collector_is_paused_then_frozen_and_left_as_it_was():
    import gc

    from onebyone.tools.grading import collector_paused

    before = gc.get_freeze_count()
    with collector_paused():
        assert not gc.isenabled()
        made = [[] for _ in range(1000)]  # what a warm-up's imports make
    assert gc.isenabled()  # back on for the grading itself
    assert gc.get_freeze_count() >= before + len(made)  # frozen: never walked again
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a collector that was off stays off
    finally:
        gc.enable()


def test_the_hidden_tests_use_the_graded_courses_own_solution(tmp_path):
    """The worker reads no disk (it runs inside the fence): the hidden tests' reference
    (tools/answers.py) is the solution of the course being graded, as the worker received it,
    not the one of whatever checkout the package runs from. Here a copy of the course whose
    conv1x1 solution doubles its output: the checkout's answer fails its hidden test, the
    doubled one passes it."""
    course = samples.copy_course(tmp_path / "course", [A])
    source = course / "solutions" / A / f"{A}.ipynb"
    notebook = nbformat.read(source, as_version=4)
    cell = next(c for c in notebook.cells if samples._gid(c) == "conv1x1")
    assert "    return out\n" in cell.source
    cell.source = cell.source.replace("    return out\n", "    return 2 * out\n")
    nbformat.write(notebook, source)
    doubled = samples.solution_code(A, "conv1x1", course)
    samples.write_class(tmp_path / "submitted", A, {
        "checkout": samples.dumps(samples.honest(A)),
        "doubled": samples.dumps(samples.set_code(samples.honest(A), "conv1x1", doubled))})
    cli.main(["grade", str(tmp_path / "submitted"), "--out", str(tmp_path / "out"), "--jobs",
              "1", "--course", str(course)])
    hidden = {r["student_id"]: float(r["score"]) for r in samples.read_csv(tmp_path / "out" /
                                                                            "items.csv")
              if r["grade_id"] == "test_conv1x1_hidden"}
    assert hidden["checkout"] == 0 and hidden["doubled"] > 0, hidden
