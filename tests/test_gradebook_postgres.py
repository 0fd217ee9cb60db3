"""The gradebook: made in-process exactly as nbgrader makes it, on SQLite and on a real PostgreSQL
(Debian's server, started here in a temporary folder on 127.0.0.1); two graders started at once
on a fresh database both finish and record everything; a regrade; nbgrader's own `export` reads
the result; a database that cannot be used stops the run in one line, exit code 2."""

import contextlib
import csv
import getpass
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import grading_samples as samples
import nbformat
import pytest
import sqlalchemy
from nbgrader.api import Gradebook

from onebyone.tools import environment
from onebyone.tools.grading import course as layout
from onebyone.tools.grading.store import gradebook

A, B = "one-by-one", "global-average-pooling"
SERVER_USER = "postgres"  # Debian's package creates it; the server refuses to run as root


def postgres_bin():
    """Debian's PostgreSQL server programs, or skip (fail under CI) when not installed."""
    found = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    reason = ("no PostgreSQL server in /usr/lib/postgresql: the PostgreSQL gradebook tests need "
              "Debian's postgresql package (sudo apt-get install postgresql)")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: these tests must run in CI)")
    pytest.skip(reason)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A throwaway PostgreSQL server: its own data folder, 127.0.0.1 only, trust logins."""

    def __init__(self, bin_dir):
        self.bin = bin_dir
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="onebyone-postgres-"))
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:  # the server will not run as root: run it as its own user
            try:
                import pwd

                user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                pytest.skip(f"no {SERVER_USER!r} user to run the PostgreSQL server as")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", SERVER_USER, "--"]
            self.user = SERVER_USER
        else:
            self.user = getpass.getuser()
        self.data = self.folder / "data"
        self._run("initdb", "-D", self.data, "-U", self.user, "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", self.data, "-l", self.folder / "server.log", "-o", options,
                  "-w", "-t", "120", "start")

    def _run(self, program, *args):
        done = subprocess.run([*self.as_user, self.bin / program, *map(str, args)],
                              capture_output=True, text=True, cwd=self.folder)
        assert done.returncode == 0, f"{program} failed:\n{done.stdout}\n{done.stderr}"

    def url(self, database):
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self, name):
        engine = sqlalchemy.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def stop(self):
        with contextlib.suppress(AssertionError):
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres():
    server = Server(postgres_bin())
    try:
        yield server
    finally:
        server.stop()


def schema(db_url):
    """{table: sorted column names} and the alembic stamp of a gradebook."""
    engine = sqlalchemy.create_engine(db_url)
    try:
        inspector = sqlalchemy.inspect(engine)
        tables = {t: sorted(c["name"] for c in inspector.get_columns(t))
                  for t in inspector.get_table_names()}
        with engine.connect() as connection:
            stamp = connection.execute(sqlalchemy.text(
                "SELECT version_num FROM alembic_version")).scalars().all()
            courses = connection.execute(sqlalchemy.text("SELECT id FROM course")).scalars().all()
    finally:
        engine.dispose()
    return tables, stamp, courses


def nbgraders_own(db_url):
    """A gradebook made by nbgrader itself (its Gradebook runs the `alembic` command)."""
    path = os.environ["PATH"]
    os.environ["PATH"] = environment.with_env_bin()["PATH"]
    try:
        Gradebook(db_url).close()
    finally:
        os.environ["PATH"] = path


def test_the_sqlite_gradebook_is_the_one_nbgrader_makes(tmp_path):
    ours, theirs = f"sqlite:///{tmp_path / 'ours.db'}", f"sqlite:///{tmp_path / 'theirs.db'}"
    gradebook.prepare(ours, {})
    nbgraders_own(theirs)
    assert schema(ours) == schema(theirs)
    assert schema(ours)[1] == [gradebook.head_revision()]
    assert not list(tmp_path.glob("*.partial"))


def test_the_postgresql_gradebook_is_the_one_nbgrader_makes(postgres):
    ours, theirs = postgres.new_database("ours"), postgres.new_database("theirs")
    gradebook.prepare(ours, {})
    nbgraders_own(theirs)
    assert schema(ours) == schema(theirs)


def recorded(db_url, student):
    """{cell name: (auto, manual, extra credit, needs a manual grade)} of a submission's grades,
    and the cell names of its comments."""
    with Gradebook(db_url) as book:
        notebook = book.find_submission(A, student).notebooks[0]
        grades = {g.cell.name: (g.auto_score, g.manual_score, g.extra_credit,
                                g.needs_manual_grade) for g in notebook.grades}
        return grades, sorted(c.cell.name for c in notebook.comments)


def autograded_by_nbgrader(db_url, student, failing):
    """What nbgrader's own autograde records for a notebook whose test cells `failing` raised:
    its add_submission, then its SaveAutoGrades on the notebook with the tests' outputs."""
    from nbgrader.preprocessors import SaveAutoGrades

    notebook = samples.release_notebook(A)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in failing:
            cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                                   traceback=[])]
    with Gradebook(db_url) as book:
        with contextlib.suppress(Exception):
            book.add_student(student)
        if not any(s.student_id == student for s in book.find_assignment(A).submissions):
            book.add_submission(A, student)
    resources = {"nbgrader": {"db_url": db_url, "assignment": A, "notebook": A,
                              "student": student}}
    SaveAutoGrades().preprocess(notebook, resources)


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's add_submission
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_recorded_grades_are_the_ones_nbgraders_autograde_records(backend, tmp_path, request):
    if backend == "sqlite":
        ours, theirs = (f"sqlite:///{tmp_path / name}.db" for name in ("ours", "theirs"))
    else:
        server = request.getfixturevalue("postgres")
        ours, theirs = server.new_database("ours_grades"), server.new_database("theirs_grades")
    sources = layout.sources_of(samples.ROOT, [A])
    for db_url in (ours, theirs):
        gradebook.prepare(db_url, sources)
    tests = {t.grade_id: t.points for t in sources[A].tests()}

    def scores(failing):
        return {name: 0.0 if name in failing else points for name, points in tests.items()}

    # a first run: two submissions recorded together
    failing = {"s1": set(sorted(tests)[::2]), "s2": set(tests)}
    with Gradebook(ours) as book:
        gradebook.record_scores(book.db, [(A, s, scores(failing[s])) for s in ("s1", "s2")])
    for student in ("s1", "s2"):
        autograded_by_nbgrader(theirs, student, failing[student])
        assert recorded(ours, student) == recorded(theirs, student)
    assert any(score == 0.0 for score, *_ in recorded(ours, "s1")[0].values())

    # a regrade after a grader's manual score, recorded together with a new submission
    manual = sorted(tests)[1]
    for db_url in (ours, theirs):
        with Gradebook(db_url) as book:
            book.find_grade(manual, A, A, "s1").manual_score = 0.5
            book.db.commit()
    with Gradebook(ours) as book:
        gradebook.record_scores(book.db, [(A, "s1", scores(set())), (A, "s3", scores(set()))])
    for student in ("s1", "s3"):
        autograded_by_nbgrader(theirs, student, set())
        assert recorded(ours, student) == recorded(theirs, student)
    assert recorded(ours, "s1")[0][manual][3]  # a manual score: needs a look again
    assert not recorded(ours, "s3")[0][manual][3]


def test_scores_are_recorded_for_an_assignment_without_tests(tmp_path):
    course = tmp_path / "course"
    samples.copy_course(course, [A])
    source = course / "solutions" / A / f"{A}.ipynb"
    notebook = nbformat.read(source, 4)
    notebook.cells = [c for c in notebook.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    nbformat.write(notebook, source)
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    gradebook.prepare(db_url, layout.sources_of(course, [A]))
    with Gradebook(db_url) as book:
        gradebook.record_scores(book.db, [(A, "s1", {})])
        assert book.find_submission(A, "s1").notebooks[0].grades == []


def test_a_score_without_its_cell_or_a_failing_database_stops_in_one_line(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    gradebook.prepare(db_url, layout.sources_of(samples.ROOT, [A]))
    with Gradebook(db_url) as book:
        with pytest.raises(gradebook.GradebookError, match="no test cell 'not-a-test'"):
            gradebook.record(book, [(A, "s1", {"not-a-test": 1.0})])
        book.db.rollback()
        book.db.execute(sqlalchemy.text("DROP TABLE grade"))
        with pytest.raises(gradebook.GradebookError, match="failed while recording results"):
            gradebook.record(book, [(A, "s2", {})])


def grade_command(folder, out, db_url, *more):
    return [sys.executable, "-m", "onebyone.tools.cli", "grade", str(folder), "--out", str(out),
            "--db-url", db_url, "--jobs", "1", *more]


def write_half_classes(tmp_path):
    """Two graders' shares of one class: students s0..s3 on A, split two and two, and one
    student in both shares (A in one, B in the other), so both add that student."""
    notebooks = {}
    for i in range(4):
        notebook = samples.honest(A)
        if i % 2:
            samples.set_code(notebook, samples.FOLD_ITEM, samples.WRONG_FOLD)
        samples.add_after(notebook, "setup", f"student_number = {i}")
        notebooks[(f"s{i}", A)] = notebook
    notebooks[("both", A)] = notebooks[("s0", A)]
    notebooks[("both", B)] = samples.honest(B)
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, keys in ((first, [("s0", A), ("s1", A), ("both", A)]),
                         (second, [("s2", A), ("s3", A), ("both", B)])):
        for student, assignment in keys:
            samples.write_class(folder, assignment,
                                {student: samples.dumps(notebooks[(student, assignment)])})
    return first, second, notebooks


def waiting_for_the_lock(db_url):
    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sqlalchemy.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )).scalar()
    finally:
        engine.dispose()


def scores_in(db_url):
    with Gradebook(db_url) as book:
        return {(s.student.id, s.assignment.name): s.score
                for assignment in book.assignments for s in assignment.submissions}


def table_scores(*outs):
    return {(r["student_id"], r["assignment_id"]): float(r["score"])
            for out in outs for r in samples.read_csv(out / "grades.csv")}


@pytest.fixture(scope="module")
def shared_run(postgres, tmp_path_factory):
    """Two graders started at once on a fresh database: both wait on the graders' lock (held
    here until both are waiting), then race for it."""
    tmp = tmp_path_factory.mktemp("shared")
    first, second, notebooks = write_half_classes(tmp)
    db_url = postgres.new_database("shared")
    env = environment.with_env_bin()
    holder = sqlalchemy.create_engine(db_url)
    runs = []
    with holder.connect() as connection:
        connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"),
                           {"key": gradebook.LOCK_KEY})
        try:
            for folder in (first, second):
                runs.append(subprocess.Popen(grade_command(folder, tmp / f"out-{folder.name}",
                                                           db_url), env=env, text=True,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            deadline = time.monotonic() + 180
            while waiting_for_the_lock(db_url) < 2 and time.monotonic() < deadline:
                assert all(run.poll() is None for run in runs), runs[0].stderr
                time.sleep(0.1)
            both_waited = waiting_for_the_lock(db_url) == 2
        finally:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"),
                               {"key": gradebook.LOCK_KEY})
    holder.dispose()
    errors = [run.communicate(timeout=300)[1] for run in runs]
    return dict(db_url=db_url, runs=runs, errors=errors, both_waited=both_waited, tmp=tmp,
                first=first, outs=[tmp / "out-first", tmp / "out-second"], notebooks=notebooks)


def test_two_graders_at_once_on_a_fresh_database_both_record_everything(shared_run):
    assert shared_run["both_waited"], "the graders did not start at the same time"
    for run, error in zip(shared_run["runs"], shared_run["errors"]):
        assert run.returncode == 0, error
        assert "Traceback" not in error
    expected = {key: sum(samples.reference_scores(notebook, key[1]).values())
                for key, notebook in shared_run["notebooks"].items()}
    assert table_scores(*shared_run["outs"]) == expected
    assert scores_in(shared_run["db_url"]) == expected
    assert expected[("s1", A)] < expected[("s0", A)]  # the wrong one lost points


def test_a_regrade_records_each_submission_once(shared_run):
    out = shared_run["outs"][0]
    done = subprocess.run(grade_command(shared_run["first"], out, shared_run["db_url"],
                                        "--regrade"),
                          env=environment.with_env_bin(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "(3 now, 0 unchanged" in done.stderr
    assert scores_in(shared_run["db_url"]) == table_scores(*shared_run["outs"])


def test_nbgraders_own_export_reads_the_gradebook(shared_run, tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n", encoding="utf-8")
    done = subprocess.run([str(environment.env_bin() / "nbgrader"), "export",
                           f"--db={shared_run['db_url']}"], cwd=tmp_path,
                          env=environment.with_env_bin(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as exported:
        rows = list(csv.DictReader(exported))
    exported = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    ours = table_scores(*shared_run["outs"])
    assert {key: exported[key] for key in ours} == ours
    # nbgrader lists every student for every assignment in the gradebook: the rest are zeros
    assert set(exported) - set(ours) and not any(exported[k] for k in set(exported) - set(ours))


@pytest.mark.parametrize("db_url, says", [
    (f"postgresql://nobody@127.0.0.1:{free_port()}/gradebook", "cannot reach the gradebook"),
    ("postgresq://nobody@127.0.0.1/gradebook", "unknown database kind"),
    ("not a database url", "is not a database URL"),
])
def test_a_gradebook_that_cannot_be_used_stops_the_run_in_one_line(tmp_path, db_url, says):
    folder, out = tmp_path / "submitted", tmp_path / "out"
    samples.write_class(folder, A, {"s0": samples.dumps(samples.honest(A))})
    done = subprocess.run(grade_command(folder, out, db_url), env=environment.with_env_bin(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], done.stderr
    assert (out / "journal.jsonl").read_text(encoding="utf-8") == ""  # nothing was graded
