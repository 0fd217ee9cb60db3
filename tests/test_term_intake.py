"""Submissions in as they come: Canvas's and Moodle's downloads (as zips and folders) and
nbgrader's own layout, matched to the roster; the class list read and imported as nbgrader does.
The cases are the issue's ("The interface, exactly"), verbatim."""

import csv
import dataclasses
import datetime
import pathlib
import shutil
import zipfile

import course
import pytest
from nbgrader.api import Gradebook
from nbgrader.exchange.abc.exchange import Exchange

from onebyone.tools import environment
from onebyone.tools.term import intake, roster

ROOT = pathlib.Path(__file__).resolve().parents[1]
A = "one-by-one"
RELEASED = ROOT / "exercises" / A / f"{A}.ipynb"
KNOWN = frozenset(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
ROSTER = """id,first_name,last_name,email,lms_id
ada,Ada,Lovelace,ada@example.org,1001
bob,Bob,Byron,bob@example.org,1002
cy,Cy,Curie,cy@example.org,1003
dee,Dee,Noether,dee@example.org,2004
"""
CANVAS_FILES = ["lovelaceada_1001_50001_one-by-one.ipynb",
                "byronbob_LATE_1002_50002_one-by-one.ipynb",
                "curiecy_1003_50003_one-by-one-1.ipynb"]
MOODLE_FOLDERS = {"Ada Lovelace_2001_assignsubmission_file_": "one-by-one.ipynb",
                  "Bob Byron_2002_assignsubmission_file_": "one-by-one (1).ipynb",
                  "Cy Curie_2003_assignsubmission_file_": "homework.ipynb"}


@pytest.fixture(autouse=True)
def _alembic_on_path(monkeypatch):
    """nbgrader's Gradebook runs `alembic` by name when it makes a gradebook."""
    monkeypatch.setenv("PATH", environment.with_env_bin()["PATH"])


@pytest.fixture
def students(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return roster.read(path)


def _zip(folder, target):
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def _canvas(folder):
    folder.mkdir()
    for name in CANVAS_FILES:
        shutil.copy(RELEASED, folder / name)
    return folder


def _moodle(folder):
    for student, name in MOODLE_FOLDERS.items():
        (folder / student).mkdir(parents=True)
        shutil.copy(RELEASED, folder / student / name)
    return folder


def _seen(found):
    return sorted((s.student, s.assignment, s.layout, s.late) for s in found.submissions)


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_a_canvas_download_is_three_graded_submissions_matched_by_lms_id(tmp_path, students,
                                                                         as_zip):
    folder = _canvas(tmp_path / "canvas")
    source = _zip(folder, tmp_path / "canvas.zip") if as_zip else folder
    found = intake.read(source, tmp_path, students, assignment=A)
    assert _seen(found) == [("ada", A, "canvas", False), ("bob", A, "canvas", True),
                            ("cy", A, "canvas", False)]
    assert found.unmatched == [] and found.nothing_matched() is None
    # each is the file Canvas named, with the platform's own id and login kept
    by_student = {s.student: s for s in found.submissions}
    assert by_student["cy"].notebook.name == CANVAS_FILES[2]
    assert by_student["cy"].notebook.read_bytes() == RELEASED.read_bytes()
    assert (by_student["bob"].lms_id, by_student["bob"].platform_name) == ("1002", "byronbob")


def test_canvas_names_the_assignment_itself_once_its_rename_is_taken_off(tmp_path, students):
    found = intake.read(_canvas(tmp_path / "canvas"), tmp_path, students, known=KNOWN)
    assert _seen(found) == [("ada", A, "canvas", False), ("bob", A, "canvas", True),
                            ("cy", A, "canvas", False)]


def test_a_canvas_user_not_in_the_roster_and_a_text_file_are_listed(tmp_path, students):
    folder = _canvas(tmp_path / "canvas")
    shutil.copy(RELEASED, folder / "hopperg_1099_50099_one-by-one.ipynb")
    (folder / "lovelaceada_1001_50001_notes.txt").write_text("notes")
    found = intake.read(folder, tmp_path, students, assignment=A)
    assert len(found.submissions) == 3
    assert {u.path: u.reason for u in found.unmatched} == {
        "hopperg_1099_50099_one-by-one.ipynb": "Canvas user 1099 has no roster row (lms_id)",
        "lovelaceada_1001_50001_notes.txt": "not a notebook (Canvas download)"}


def test_without_a_roster_the_canvas_user_id_names_the_student(tmp_path):
    found = intake.read(_canvas(tmp_path / "canvas"), tmp_path, None, assignment=A)
    assert [s.student for s in found.submissions] == ["1001", "1002", "1003"]


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_a_moodle_download_is_one_notebook_per_student_under_any_name(tmp_path, students, as_zip):
    # the participant ids are Moodle's own (per assignment): these students match by full name
    folder = _moodle(tmp_path / "moodle")
    source = _zip(folder, tmp_path / "moodle.zip") if as_zip else folder
    found = intake.read(source, tmp_path, students, assignment=A)
    assert _seen(found) == [("ada", A, "moodle", False), ("bob", A, "moodle", False),
                            ("cy", A, "moodle", False)]
    assert found.unmatched == []
    assert {s.student: s.notebook.name for s in found.submissions} == {
        "ada": "one-by-one.ipynb", "bob": "one-by-one (1).ipynb", "cy": "homework.ipynb"}
    assert {s.lms_id for s in found.submissions} == {"2001", "2002", "2003"}


def test_a_moodle_participant_id_in_the_roster_wins_over_the_name(tmp_path, students):
    folder = tmp_path / "moodle"
    (folder / "Dee N_2004_assignsubmission_file_").mkdir(parents=True)  # a changed display name
    shutil.copy(RELEASED, folder / "Dee N_2004_assignsubmission_file_" / "x.ipynb")
    (folder / "Eve Stranger_2005_assignsubmission_file_").mkdir()
    shutil.copy(RELEASED, folder / "Eve Stranger_2005_assignsubmission_file_" / "x.ipynb")
    (folder / "Ada Lovelace_2001_assignsubmission_onlinetext_").mkdir()
    (folder / "Ada Lovelace_2001_assignsubmission_onlinetext_" / "onlinetext.html").write_text("")
    found = intake.read(folder, tmp_path, students, assignment=A)
    assert _seen(found) == [("dee", A, "moodle", False)]
    assert sorted(u.reason for u in found.unmatched) == [
        "Moodle onlinetext submission, not a file",
        "Moodle participant 2005 (Eve Stranger) matches no roster row (lms_id or name)"]


def test_moodle_without_the_assignment_named_lists_what_it_cannot_place(tmp_path, students):
    found = intake.read(_moodle(tmp_path / "moodle"), tmp_path, students, known=KNOWN)
    # one-by-one.ipynb and its " (1)" copy name the assignment; homework.ipynb does not
    assert _seen(found) == [("ada", A, "moodle", False), ("bob", A, "moodle", False)]
    assert [u.reason for u in found.unmatched] == [
        "homework.ipynb names no assignment of the course: give --assignment"]


def test_two_notebooks_of_one_student_are_listed_not_guessed(tmp_path, students):
    folder = _moodle(tmp_path / "moodle")
    shutil.copy(RELEASED, folder / "Cy Curie_2003_assignsubmission_file_" / "draft.ipynb")
    found = intake.read(folder, tmp_path, students, assignment=A)
    assert [s.student for s in found.submissions] == ["ada", "bob"]
    assert sorted(u.path for u in found.unmatched) == [
        "Cy Curie_2003_assignsubmission_file_/draft.ipynb",
        "Cy Curie_2003_assignsubmission_file_/homework.ipynb"]


def test_nbgrader_layout_reads_timestamp_txt_with_nbgraders_parser(tmp_path, students):
    when = datetime.datetime(2026, 3, 2, 9, 30, 15, 250000, tzinfo=datetime.timezone.utc)
    stamp = when.strftime(Exchange.timestamp_format.default_value)  # what nbgrader collect writes
    folder = tmp_path / "course" / "submitted"
    for student in ("ada", "bob"):
        (folder / student / A).mkdir(parents=True)
        shutil.copy(RELEASED, folder / student / A / f"{A}.ipynb")
    (folder / "ada" / A / "timestamp.txt").write_text(stamp + "\n")
    (folder / "bob" / "loose.ipynb").write_bytes(RELEASED.read_bytes())  # not in a folder
    found = intake.read(_zip(tmp_path / "course", tmp_path / "c.zip"), tmp_path, students)
    assert _seen(found) == [("ada", A, "nbgrader", False), ("bob", A, "nbgrader", False)]
    by_student = {s.student: s for s in found.submissions}
    # naive UTC, as nbgrader's parse_utc gives and its gradebook stores
    assert by_student["ada"].submitted_at == when.replace(tzinfo=None)
    assert by_student["bob"].submitted_at is None
    assert [(u.path, u.reason) for u in found.unmatched] == [
        ("bob/loose.ipynb", "a notebook directly in bob/: nbgrader expects "
                            "bob/<assignment>/<assignment>.ipynb")]


def test_a_timestamp_nbgrader_cannot_read_is_listed(tmp_path):
    (tmp_path / "s" / "ada" / A).mkdir(parents=True)
    shutil.copy(RELEASED, tmp_path / "s" / "ada" / A / f"{A}.ipynb")
    (tmp_path / "s" / "ada" / A / "timestamp.txt").write_text("yesterday-ish")
    found = intake.read(tmp_path / "s", tmp_path)
    assert found.submissions == []
    assert "timestamp.txt is not a time nbgrader reads" in found.unmatched[0].reason


def test_nothing_matched_is_one_line_naming_what_was_found(tmp_path):
    folder = tmp_path / "odd"
    (folder / "misc").mkdir(parents=True)
    shutil.copy(RELEASED, folder / "Untitled.ipynb")
    (folder / "notes.txt").write_text("x")
    (folder / "misc" / "readme.md").write_text("x")
    for source in (folder, _zip(folder, tmp_path / "odd.zip")):
        found = intake.read(source, tmp_path, known=KNOWN)
        line = found.nothing_matched()
        assert found.submissions == [] and "\n" not in line
        for name in ("Untitled.ipynb", "notes.txt", "misc/readme.md", "--assignment"):
            assert name in line, line


def test_a_zip_that_leaves_its_folder_or_is_not_a_zip_is_refused_in_one_line(tmp_path):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as archive:
        archive.writestr("../escape_1001_1_one-by-one.ipynb", "{}")
        archive.writestr("lovelaceada_1001_50001_one-by-one.ipynb", RELEASED.read_text())
    found = intake.read(tmp_path / "evil.zip", tmp_path, None, assignment=A)
    assert [s.student for s in found.submissions] == ["1001"]
    assert found.unmatched == [intake.Unmatched("../escape_1001_1_one-by-one.ipynb",
                                                "path leaves the folder")]
    assert not (tmp_path.parent / "escape_1001_1_one-by-one.ipynb").exists()
    (tmp_path / "fake.zip").write_text("not a zip")
    for bad in (tmp_path / "fake.zip", tmp_path / "missing.zip"):
        with pytest.raises(intake.CannotRead, match=bad.name):
            intake.read(bad, tmp_path)


# --- the roster ---------------------------------------------------------------------------

def test_the_roster_imports_as_nbgraders_own_student_import_does(tmp_path, students):
    """Our import and `nbgrader db student import` (nbgrader's column lms_user_id) give the
    same students in the gradebook."""
    ours = f"sqlite:///{tmp_path / 'ours.db'}"
    with Gradebook(ours) as gb:
        roster.import_into(gb, students)
    nbgraders = tmp_path / "nbgrader.csv"
    nbgraders.write_text(ROSTER.replace("lms_id", "lms_user_id"), encoding="utf-8")
    theirs = f"sqlite:///{tmp_path / 'theirs.db'}"
    course.nbgrader(tmp_path, "db", "student", "import", str(nbgraders), f"--db={theirs}")

    def rows(url):
        with Gradebook(url) as gb:
            return sorted((s.id, s.first_name, s.last_name, s.email, s.lms_user_id)
                          for s in gb.students)

    assert rows(ours) == rows(theirs)
    assert ("bob", "Bob", "Byron", "bob@example.org", "1002") in rows(ours)
    # our reader takes nbgrader's column name too
    assert roster.read(nbgraders) == students
    # and nbgrader's own import reads our roster as it is (lms_id is not its column: ignored)
    plain = f"sqlite:///{tmp_path / 'plain.db'}"
    course.nbgrader(tmp_path, "db", "student", "import", str(tmp_path / "roster.csv"),
                    f"--db={plain}")
    assert rows(plain) == [row[:4] + (None,) for row in rows(ours)]


@pytest.mark.parametrize("text, says", [
    ("", "empty"),
    ("name,email\nada,a@x\n", "unknown column(s) name"),
    ("first_name,email\nAda,a@x\n", "no id column"),
    ("id,id\nada,ada\n", "named twice"),
    ("id,email\nada\n", "line 2: 1 cells, the header has 2"),
    ("id,email\n,a@x\n", "line 2: empty id"),
    ("id,email\nada,a@x\nada,b@x\n", "line 3: id ada is already on line 2"),
    ("id,lms_id\nada,7\nbob,7\n", "line 3: lms_id 7 is already on line 2"),
    ("id\n../ada\n", "cannot name a folder"),
    ("id,email\n", "a header and no students"),
])
def test_a_bad_roster_is_one_clear_line(tmp_path, text, says):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(roster.BadRoster) as error:
        roster.read(path)
    assert says in str(error.value) and "\n" not in str(error.value)


def test_a_roster_that_is_missing_or_not_text_is_one_line(tmp_path):
    with pytest.raises(roster.BadRoster, match="no such file"):
        roster.read(tmp_path / "none.csv")
    (tmp_path / "latin1.csv").write_bytes("id,last_name\nada,Lövelace\n".encode("latin-1"))
    with pytest.raises(roster.BadRoster, match="not UTF-8"):
        roster.read(tmp_path / "latin1.csv")


def test_a_spreadsheets_roster_reads_the_same(tmp_path, students):
    """Excel's CSV UTF-8 (a BOM, CRLF, quoted cells, a trailing blank line) gives the same."""
    rows = list(csv.reader(ROSTER.splitlines()))
    path = tmp_path / "excel.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows + [[""] * 5])
    assert roster.read(path) == students


def test_the_submissions_laid_out_as_nbgraders_submitted_folder_read_back_the_same(tmp_path,
                                                                                   students):
    """Canvas and nbgrader (with times) in; nbgrader's submitted/ out; read back: the same."""
    when = datetime.datetime(2026, 3, 2, 9, 30, 15, 250000)
    (tmp_path / "in" / "dee" / A).mkdir(parents=True)
    shutil.copy(RELEASED, tmp_path / "in" / "dee" / A / f"{A}.ipynb")
    stamp = when.replace(tzinfo=datetime.timezone.utc).strftime(
        Exchange.timestamp_format.default_value)
    (tmp_path / "in" / "dee" / A / "timestamp.txt").write_text(stamp)
    for name in CANVAS_FILES:
        shutil.copy(RELEASED, tmp_path / "in" / name)
    first = intake.read(tmp_path / "in", tmp_path, students, known=KNOWN)
    assert len(first.submissions) == 4 and first.unmatched == []
    assert intake.write_submitted(first.submissions, tmp_path / "submitted") == []
    again = intake.read(tmp_path / "submitted", tmp_path, students, known=KNOWN)

    def seen(found):
        return sorted((s.student, s.assignment, s.submitted_at, s.notebook.read_bytes())
                      for s in found.submissions)

    assert seen(again) == seen(first)
    assert {s.layout for s in again.submissions} == {"nbgrader"}
    # a new download replacing a different notebook says so; the same one does not
    changed = dataclasses.replace(first.submissions[0], notebook=tmp_path / "other.ipynb")
    (tmp_path / "other.ipynb").write_text("{}")
    assert intake.write_submitted([changed], tmp_path / "submitted") == [
        f"{changed.student}/{A}"]
    assert intake.write_submitted([changed], tmp_path / "submitted") == []


def test_a_file_named_like_another_students_download_stays_its_senders(tmp_path, students):
    """The platform's prefix names the sender; the student's own file name comes after it."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(RELEASED, folder / "lovelaceada_1001_50001_byronbob_1002_50002_one-by-one.ipynb")
    shutil.copy(RELEASED, folder / ("Cy Curie_2003_assignsubmission_file_"
                                    "Bob Byron_2002_assignsubmission_file_one-by-one.ipynb"))
    found = intake.read(folder, tmp_path, students, assignment=A)
    assert sorted((s.student, s.layout) for s in found.submissions) == [
        ("ada", "canvas"), ("cy", "moodle")]
