"""The nbgrader gradebook made ready for a run: reachable, its tables created, the assignments'
cells saved, safely when several graders start at once on one PostgreSQL database.

nbgrader's own `Gradebook(url)` creates missing tables on first use and then runs the `alembic`
command in a subprocess to learn the revision to stamp (about 1.8 s). Two graders doing that at
once on a fresh PostgreSQL database collide (`UniqueViolation` on `pg_type_typname_nsp_index`).
Here the same tables (nbgrader's own SQLAlchemy metadata) and the same stamp (nbgrader's own
statements, with the head revision read from nbgrader's migration scripts) are made in one
transaction, in-process, while holding a PostgreSQL advisory lock: the second grader waits, then
finds everything made. After that, nbgrader's `Gradebook(url)` sees existing tables and writes
nothing. A new SQLite gradebook is built in memory-backed storage and moved into place whole,
so a killed run never leaves half a gradebook behind.
"""

import contextlib
import hashlib
import os
import pathlib
import shutil
import tempfile
import warnings

import nbformat
import sqlalchemy
from nbgrader import api, dbutil
from nbgrader.api import Base, Course, Gradebook, MissingEntry
from nbgrader.preprocessors.savecells import SaveCells

from onebyone.tools import files

CONNECT_SECONDS = 15
COURSE_ID = "default_course"  # the course id nbgrader's Gradebook uses unless told otherwise
# One advisory lock key for every onebyone grader of a database (a 64-bit signed integer).
LOCK_KEY = int.from_bytes(hashlib.sha256(b"onebyone gradebook").digest()[:8], "big", signed=True)


class GradebookError(Exception):
    """The gradebook cannot be used (the message says why, in one line)."""


def shown(db_url):
    """The URL as it may be printed: without its password."""
    try:
        return sqlalchemy.engine.make_url(db_url).render_as_string(hide_password=True)
    except Exception:
        return db_url


def head_revision():
    """The newest revision of nbgrader's migration scripts (what `alembic heads` prints for them),
    asked of alembic's own ScriptDirectory, without running the alembic command."""
    from alembic.script import ScriptDirectory

    try:
        return ScriptDirectory(dbutil.ALEMBIC_DIR).get_current_head()
    except Exception as error:  # alembic's CommandError: several heads
        raise GradebookError(f"nbgrader's migration scripts: {error}") from None


def _one_line(error):
    """The first line of a driver's message (psycopg's messages go on with hints)."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


def _engine(db_url):
    try:
        postgres = sqlalchemy.engine.make_url(db_url).get_backend_name() == "postgresql"
        # a host that drops packets would otherwise keep the run waiting for minutes
        extra = {"connect_args": {"connect_timeout": CONNECT_SECONDS}} if postgres else {}
        engine = sqlalchemy.create_engine(db_url, future=True, **extra)
    except sqlalchemy.exc.NoSuchModuleError:  # before ArgumentError, its base
        scheme = db_url.split(":", 1)[0]
        raise GradebookError(f"{shown(db_url)}: unknown database kind {scheme!r}; use "
                             "sqlite:///FILE or postgresql://user@host/database") from None
    except sqlalchemy.exc.ArgumentError as error:
        raise GradebookError(f"{shown(db_url)} is not a database URL ({_one_line(error)}); "
                             "e.g. sqlite:///gradebook.db or "
                             "postgresql://user@host/database") from None
    except ImportError as error:
        raise GradebookError(f"{shown(db_url)}: the database driver is not installed "
                             f"({error})") from None
    return engine


@contextlib.contextmanager
def _exclusive(engine, db_url, lock=True):
    """Hold the graders' lock on this database (PostgreSQL; SQLite has one writer anyway). The
    first connection also proves the database can be reached, before any grading."""
    lock = lock and engine.dialect.name == "postgresql"
    try:
        connection = engine.connect()
    except sqlalchemy.exc.SQLAlchemyError as error:
        raise GradebookError(f"cannot reach the gradebook {shown(db_url)}: "
                             f"{_one_line(error)}") from None
    with connection:
        if lock:
            # a session lock, held across the transactions below (and freed if we die)
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"),
                               {"key": LOCK_KEY})
            connection.commit()
        try:
            yield
        finally:
            if lock:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": LOCK_KEY})
                connection.commit()


def lock_for_writing(session):
    """Within the session's transaction, wait for the graders' lock (PostgreSQL): two graders
    adding the same new student at once then take turns instead of colliding. The lock goes
    with the transaction's commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def record(book: Gradebook, submissions: list) -> None:
    """record_scores in nbgrader's Gradebook `book`; a database error is a GradebookError."""
    try:
        record_scores(book.db, submissions)
    except sqlalchemy.exc.SQLAlchemyError as error:
        book.db.rollback()
        raise GradebookError(f"the gradebook {book.engine.url.render_as_string()} failed while "
                             f"recording results: {_one_line(error)}") from None


def record_scores(session, submissions):
    """Submissions with their autograder scores, [(assignment, student, {grade_id: points})], as
    nbgrader's autograde leaves the test cells: students and submissions added if missing (with
    the rows of nbgrader's add_submission: a notebook per notebook of the assignment, a grade per
    grade or task cell, a comment per solution or task cell), then, in the notebook named after
    the assignment, each grade's auto_score and, by nbgrader's SaveAutoGrades rule,
    needs_manual_grade (a cell with no score, or with a score given by hand, needs a look). In
    one transaction, in SQL on nbgrader's own tables: its ORM took about 8 ms a submission, and
    the main process records every result of the class. Raises GradebookError if a score's cell
    is not in the gradebook."""
    if not submissions:
        return
    lock_for_writing(session)  # held to the commit: a shared gradebook's graders take turns
    tables = api.Base.metadata.tables
    students = {student for _, student, _ in submissions}
    known = set(session.execute(sqlalchemy.select(api.Student.id)
                                .where(api.Student.id.in_(students))).scalars())
    if students - known:
        session.execute(sqlalchemy.insert(tables["student"]),
                        [{"id": student} for student in sorted(students - known)])
    ids = _submission_ids(session, submissions)
    new = [(a, s) for a, s, _ in submissions if (a, s) not in ids]
    ids.update(_add_submissions(session, tables, new))
    scores = {ids[(a, s)]: marks for a, s, marks in submissions}
    grades = session.execute(
        sqlalchemy.select(api.Grade.id, api.Grade.manual_score, api.BaseCell.name,
                          api.SubmittedNotebook.assignment_id)
        .join(api.BaseCell, api.Grade.cell_id == api.BaseCell.id)
        .join(api.SubmittedNotebook, api.Grade.notebook_id == api.SubmittedNotebook.id)
        .join(api.Notebook, api.SubmittedNotebook.notebook_id == api.Notebook.id)
        .join(api.Assignment, api.Notebook.assignment_id == api.Assignment.id)
        .where(api.SubmittedNotebook.assignment_id.in_(scores),
               api.Notebook.name == api.Assignment.name)).all()
    cells = {(submission, name) for _, _, name, submission in grades}
    for assignment, student, marks in submissions:
        missing = sorted(name for name in marks if (ids[(assignment, student)], name) not in cells)
        if missing:
            raise GradebookError(
                f"the gradebook has no test cell {missing[0]!r} in {assignment!r} (changed "
                "during the run?); grade with another --db-url (default: the course's)")
    if grades:
        column = tables["grade"].c
        session.execute(
            sqlalchemy.update(tables["grade"]).where(column.id == sqlalchemy.bindparam("grade"))
            .values(auto_score=sqlalchemy.bindparam("auto"),
                    needs_manual_grade=sqlalchemy.bindparam("look")),
            [{"grade": grade, "auto": scores[submission].get(name),
              "look": manual is not None or scores[submission].get(name) is None}
             for grade, manual, name, submission in grades])
    session.commit()


def _submission_ids(session, submissions):
    """{(assignment, student): id} of those of `submissions` the gradebook has already."""
    wanted = {(assignment, student) for assignment, student, _ in submissions}
    found = session.execute(
        sqlalchemy.select(api.Assignment.name, api.SubmittedAssignment.student_id,
                          api.SubmittedAssignment.id).join(api.Assignment)
        .where(api.Assignment.name.in_({a for a, _ in wanted}),
               api.SubmittedAssignment.student_id.in_({s for _, s in wanted})))
    return {(a, s): i for a, s, i in found if (a, s) in wanted}


def _add_submissions(session, tables, new):
    """The rows of new submissions [(assignment, student)] (nbgrader's add_submission);
    returns {(assignment, student): id}."""
    if not new:
        return {}
    structure = {}  # assignment: (its id, [(notebook id, cell id, cell type)])
    for row in session.execute(
            sqlalchemy.select(api.Assignment.name, api.Assignment.id, api.Notebook.id,
                              api.BaseCell.id, api.BaseCell.type)
            .outerjoin(api.Notebook, api.Notebook.assignment_id == api.Assignment.id)
            .outerjoin(api.BaseCell, api.BaseCell.notebook_id == api.Notebook.id)
            .where(api.Assignment.name.in_({a for a, _ in new}))):
        name, assignment_id, *cell = row
        structure.setdefault(name, (assignment_id, []))[1].append(cell)
    ids, rows = {}, {"submitted_assignment": [], "submitted_notebook": [], "grade": [],
                     "comment": []}
    for assignment, student in new:
        assignment_id, cells = structure[assignment]
        ids[(assignment, student)] = submission = api.new_uuid()
        rows["submitted_assignment"].append(
            {"id": submission, "assignment_id": assignment_id, "student_id": student})
        notebooks = {notebook: api.new_uuid() for notebook, _, _ in cells if notebook}
        rows["submitted_notebook"] += [
            {"id": mine, "assignment_id": submission, "notebook_id": notebook}
            for notebook, mine in notebooks.items()]
        for notebook, cell, kind in cells:
            if kind in ("GradeCell", "TaskCell"):
                rows["grade"].append({"notebook_id": notebooks[notebook], "cell_id": cell})
            if kind in ("SolutionCell", "TaskCell"):
                rows["comment"].append({"notebook_id": notebooks[notebook], "cell_id": cell})
    for table, values in rows.items():  # parents first
        if values:
            session.execute(sqlalchemy.insert(tables[table]), values)
    return ids


def _create_tables(engine):
    """nbgrader's tables, its alembic stamp and its default course, in one transaction, as
    nbgrader's Gradebook would make them on a database with no tables."""
    with engine.begin() as connection:
        fresh = not sqlalchemy.inspect(connection).get_table_names()
        Base.metadata.create_all(connection)  # only what is missing, as nbgrader does
        if fresh:  # nbgrader stamps only a database it found empty
            connection.execute(sqlalchemy.text(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);"))
            connection.execute(sqlalchemy.text(
                "INSERT INTO alembic_version (version_num) VALUES (:head);"),
                {"head": head_revision()})
        known = connection.execute(sqlalchemy.select(Course.id).where(Course.id == COURSE_ID))
        if known.first() is None:
            connection.execute(sqlalchemy.insert(Course).values(id=COURSE_ID))


def _save_structure(db_url, assignment, source):
    """The assignment's notebook and cells in the gradebook, with nbgrader's own SaveCells
    (skipped when the gradebook already holds the same test cells and points)."""
    wanted = {t.grade_id: t.points for t in source.tests()}
    with Gradebook(db_url) as book:
        book.update_or_create_assignment(assignment)
        try:
            notebook = book.find_notebook(assignment, assignment)
            if {c.name: c.max_score for c in notebook.grade_cells} == wanted:
                return
        except MissingEntry:
            pass
    notebook = nbformat.reads(source.text.decode("utf-8"), as_version=4)
    resources = {"nbgrader": {"notebook": assignment, "assignment": assignment,
                              "db_url": db_url}}
    try:
        SaveCells().preprocess(notebook, resources)
    except RuntimeError as error:  # nbgrader: cells changed under existing submissions
        raise GradebookError(
            f"the gradebook {shown(db_url)} holds {assignment!r} with other test cells "
            f"({error}); grade with another --db-url (default: the course's)") from None


def _fill(db_url, sources):
    engine = _engine(db_url)
    try:
        with _exclusive(engine, db_url):
            _create_tables(engine)
            with warnings.catch_warnings():  # nbgrader's ORM warns about autoflush
                warnings.simplefilter("ignore")
                for assignment, source in sources.items():
                    _save_structure(db_url, assignment, source)
    except sqlalchemy.exc.OperationalError as error:
        raise GradebookError(f"the gradebook {shown(db_url)} failed: "
                             f"{_one_line(error)}") from None
    finally:
        engine.dispose()


def check(db_url: str) -> None:
    """Raise GradebookError unless the database at `db_url` can be reached (a quick look,
    before any worker starts)."""
    engine = _engine(db_url)
    try:
        with _exclusive(engine, db_url, lock=False):
            pass
    finally:
        engine.dispose()


def _new_sqlite_file(db_url):
    """The path of an SQLite gradebook that does not exist yet, else None."""
    url = sqlalchemy.engine.make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = pathlib.Path(url.database)
    return None if path.exists() else path


def prepare(db_url: str, sources: dict) -> None:
    """Make the gradebook at `db_url` ready for `sources` ({assignment: course.Source}): reached,
    tables and stamp made, the assignments' cells saved. Raises GradebookError."""
    _engine(db_url).dispose()  # a URL that is not one fails here, in one line
    new_file = _new_sqlite_file(db_url)
    if new_file is None:
        _fill(db_url, sources)
        return
    if not new_file.parent.is_dir() or not os.access(new_file.parent, os.W_OK):
        raise GradebookError(f"cannot create the gradebook {new_file}: its folder is missing "
                             "or not writable")
    # each commit of a new gradebook (nbgrader commits every cell) costs a disk sync: build it
    # in memory-backed storage, then move it into place in one piece
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    staging = pathlib.Path(tempfile.mkdtemp(prefix="onebyone-gradebook-", dir=shm))
    try:
        staged = staging / "gradebook.db"
        _fill(f"sqlite:///{staged}", sources)
        with files.written_whole(new_file, sync=True) as partial:
            shutil.copyfile(staged, partial)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
