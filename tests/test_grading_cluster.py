"""`onebyone grade --scheduler`: a class graded on a real Dask cluster (a scheduler and two
workers started here with Dask's own commands on 127.0.0.1) gets exactly the rows, scores and
gradebook of a local run, even when a worker is killed mid-run; a worker with other package code
refuses the work."""

import json
import os
import subprocess
import sys
import time

import grading_samples as samples
import pytest
from nbgrader.api import Gradebook

from onebyone.tools import cli, local_dask
from onebyone.tools.grading import result

A = "one-by-one"
STUDENTS = 8


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    """Eight distinct submissions: honest, and every other one with a wrong fold_1x1."""
    folder = tmp_path_factory.mktemp("cluster-class") / "submitted"
    notebooks = {}
    for i in range(STUDENTS):
        notebook = samples.honest(A)
        if i % 2:
            samples.set_code(notebook, samples.FOLD_ITEM, samples.WRONG_FOLD)
        samples.add_after(notebook, "setup", f"student_number = {i}")
        notebooks[f"s{i:02d}"] = samples.dumps(notebook)
    samples.write_class(folder, A, notebooks)
    return folder


@pytest.fixture(scope="module")
def local_run(submitted, tmp_path_factory):
    """The same class graded by the local pool: the reference."""
    out = tmp_path_factory.mktemp("local") / "out"
    assert cli.main(["grade", str(submitted), "--out", str(out), "--jobs", "2",
                     *own_gradebook(out)]) == 0
    return out


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """`dask scheduler` and two `dask worker`s on 127.0.0.1, stopped whatever happens."""
    started = local_dask.LocalCluster(tmp_path_factory.mktemp("dask"), workers=2)
    try:
        yield started
    finally:
        started.stop()
        assert all(p.poll() is not None for p in started.processes)


def own_gradebook(out):
    """Each run its own gradebook (the course's default is shared), so that the gradebooks of
    a local and a cluster run can be compared."""
    out.mkdir(parents=True, exist_ok=True)
    return ["--db-url", f"sqlite:///{out / 'gradebook.db'}"]


def tables(out):
    return {name: samples.read_csv(out / name) for name in ("grades.csv", "items.csv")}


def gradebook_scores(out):
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as book:
        return {(s.student.id, s.assignment.name): s.score
                for assignment in book.assignments for s in assignment.submissions}


def journal_students(out):
    students = []
    for line in (out / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            students.append(json.loads(line)["student"])
        except ValueError:
            continue
    return students


def test_a_class_graded_on_the_cluster_matches_a_local_run(submitted, local_run, dask_cluster,
                                                           tmp_path):
    out = tmp_path / "out"
    code = cli.main(["grade", str(submitted), "--out", str(out),
                     "--scheduler", dask_cluster.address, *own_gradebook(out)])
    assert code == 0
    assert tables(out) == tables(local_run)
    assert gradebook_scores(out) == gradebook_scores(local_run)
    assert len(gradebook_scores(out)) == STUDENTS
    wrong = samples.read_csv(out / "grades.csv")[1]
    assert float(wrong["score"]) < float(wrong["max_score"])  # the wrong ones lost points


def test_a_worker_with_other_code_refuses_the_work(submitted, dask_cluster, tmp_path,
                                                   monkeypatch, capsys):
    monkeypatch.setattr(result, "code_fingerprint", lambda: "0" * 64)
    out = tmp_path / "out"
    code = cli.main(["grade", str(submitted), "--out", str(out),
                     "--scheduler", dask_cluster.address])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert len(error.splitlines()) == 1 and "other onebyone code" in error, error
    assert journal_students(out) == []  # nothing was graded


def test_a_scheduler_that_cannot_be_reached_is_one_line(submitted, tmp_path, capsys):
    code = cli.main(["grade", str(submitted), "--out", str(tmp_path / "out"),
                     "--scheduler", "tcp://127.0.0.1:9"])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert len(error.splitlines()) == 1 and "cannot reach the Dask scheduler" in error, error


def test_a_worker_killed_mid_run_changes_nothing(submitted, local_run, dask_cluster, tmp_path):
    from distributed import Client

    out = tmp_path / "out"
    command = [sys.executable, "-m", "onebyone.tools.cli", "grade", str(submitted), "--out",
               str(out), "--scheduler", dask_cluster.address, *own_gradebook(out)]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    victim = None
    try:
        with Client(dask_cluster.address, set_as_default=False) as client:
            deadline = time.monotonic() + 240
            while victim is None and time.monotonic() < deadline and run.poll() is None:
                if (out / "journal.jsonl").exists() and journal_students(out):
                    busy = [address for address, keys in client.processing().items() if keys]
                    names = {address: info["name"] for address, info
                             in client.scheduler_info()["workers"].items()}
                    if busy:
                        victim = names[busy[0]]
                        before = len(journal_students(out))
                time.sleep(0.05)
        assert victim is not None, "no worker was caught grading"
        process = dask_cluster.workers[int(str(victim).rsplit("-", 1)[1])]
        dask_cluster.kill_worker(process)
        assert 1 <= before < STUDENTS, "the worker was not killed mid-run"
        stderr = run.communicate(timeout=300)[1]
    finally:
        if run.poll() is None:
            os.killpg(run.pid, 9)
            run.wait()
    assert run.returncode == 0, stderr
    assert tables(out) == tables(local_run)
    assert gradebook_scores(out) == gradebook_scores(local_run)
    assert sorted(journal_students(out)) == sorted(f"s{i:02d}" for i in range(STUDENTS))
