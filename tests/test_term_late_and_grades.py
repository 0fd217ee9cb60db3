"""Late work and grades out, on a real nbgrader course: the due date from `nbgrader db
assignment add --duedate`, times from nbgrader's timestamp.txt, the penalty from the course's
nbgrader_config.py, checked against nbgrader's own `AssignLatePenalties` and `nbgrader export`;
then the class's grades as Canvas's and Moodle's importers read them."""

import csv
import datetime
import shutil

import course
import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.exchange.abc.exchange import Exchange
from nbgrader.preprocessors import AssignLatePenalties

from onebyone.tools import environment
from onebyone.tools.term import grades_out, intake, late, roster

A = "one-by-one"
DUE = datetime.datetime(2026, 3, 1, 17, 0, 0)  # naive UTC, as nbgrader stores it
ROSTER = """id,first_name,last_name,email,lms_id
ada,Ada,Lovelace,ada@example.org,1001
bob,Bob,Byron,bob@example.org,1002
cy,Cy,Curie,cy@example.org,1003
dee,Dee,Noether,dee@example.org,1004
eve,Eve,Hopper,,
"""
# when each student submitted, relative to the due date; dee did not submit
SUBMITTED = {"ada": -datetime.timedelta(hours=2), "bob": datetime.timedelta(hours=3, minutes=5),
             "cy": datetime.timedelta(days=1), "eve": datetime.timedelta(minutes=30)}
EXTENSIONS = {"cy": datetime.timedelta(days=2)}  # cy was late, but within an extension
# a course plugin: one point per started hour late (nbgrader keeps it within [0, score])
PLUGIN = '''
import math
from nbgrader.plugins import LateSubmissionPlugin

class PointPerHour(LateSubmissionPlugin):
    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return float(math.ceil(total_seconds_late / 3600))
'''


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A course made by nbgrader's commands, its gradebook holding the assignment and roster."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PATH", environment.with_env_bin()["PATH"])  # nbgrader runs `alembic` by name
    folder = course.make_course(tmp_path_factory.mktemp("course"), [A])
    course.nbgrader(folder, "generate_assignment", A, "--force")
    course.nbgrader(folder, "db", "assignment", "add", A, f"--duedate={DUE} UTC")
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    course.nbgrader(folder, "db", "student", "import", "roster.csv")
    yield folder
    mp.undo()


def _submitted_folder(folder):
    """nbgrader's submitted/ layout, each with the timestamp.txt `nbgrader collect` writes."""
    stamp_format = Exchange.timestamp_format.default_value
    for student, delta in SUBMITTED.items():
        target = folder / "submitted" / student / A
        target.mkdir(parents=True)
        shutil.copy(folder / "exercises" / A / f"{A}.ipynb", target / f"{A}.ipynb")
        when = (DUE + delta).replace(tzinfo=datetime.timezone.utc)
        (target / "timestamp.txt").write_text(when.strftime(stamp_format))
    return folder / "submitted"


def _grade(gb, submissions, fraction):
    """Scores as a grader writes them, through nbgrader's API: `fraction` of every test."""
    for s in submissions:
        for notebook in gb.update_or_create_submission(A, s.student).notebooks:
            for grade in notebook.grades:
                if grade.max_score_gradecell or grade.max_score_taskcell:
                    grade.auto_score = grade.max_score * fraction
    gb.db.commit()


@pytest.fixture
def run(made, tmp_path, monkeypatch):
    """A copy of the course, the submissions read and graded, ready for the late policy."""
    monkeypatch.setenv("PATH", environment.with_env_bin()["PATH"])
    folder = tmp_path / "course"
    shutil.copytree(made, folder)
    students = roster.read(folder / "roster.csv")
    found = intake.read(_submitted_folder(folder), tmp_path, students)
    assert sorted(s.student for s in found.submissions) == sorted(SUBMITTED)
    url = f"sqlite:///{folder / 'gradebook.db'}"
    with Gradebook(url) as gb:
        _grade(gb, found.submissions, 0.5)
        late.record_times(gb, {(s.student, s.assignment): s.submitted_at
                               for s in found.submissions})
        for student, extra in EXTENSIONS.items():
            gb.update_or_create_submission(A, student, extension=extra)
    return {"folder": folder, "url": url, "students": students, "found": found}


def _set_policy(folder, text):
    with open(folder / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write("\n" + text + "\n")


def _export(folder):
    course.nbgrader(folder, "export", "--to=export.csv")
    with open(folder / "export.csv", encoding="utf-8") as rows:
        return {r["student_id"]: r for r in csv.DictReader(rows)}


def _nbgraders_own(url, config, folder):
    """Penalties as nbgrader's AssignLatePenalties sets them, one notebook at a time."""
    with late._course_on_path(folder):
        with Gradebook(url) as gb:
            pairs = [(s.student.id, n.name) for s in gb.find_assignment(A).submissions
                     for n in s.notebooks]
        for student, notebook in pairs:
            resources = {"nbgrader": {"notebook": notebook, "assignment": A,
                                      "student": student, "db_url": url}}
            AssignLatePenalties(config=config).preprocess(nbformat.v4.new_notebook(), resources)
    with Gradebook(url) as gb:
        return {s.student.id: s.late_submission_penalty for s in gb.find_assignment(A).submissions}


@pytest.mark.parametrize("policy", ["zero", "plugin"])
def test_the_courses_late_policy_is_nbgraders_and_nbgrader_export_shows_it(run, policy):
    folder, url = run["folder"], run["url"]
    if policy == "zero":
        _set_policy(folder, 'c.LateSubmissionPlugin.penalty_method = "zero"')
    else:
        (folder / "latepolicy.py").write_text(PLUGIN)
        _set_policy(folder, 'c.AssignLatePenalties.plugin_class = "latepolicy.PointPerHour"')
    config = late.course_config(folder)
    with Gradebook(url) as gb:
        found = {x.student: x for x in late.apply(gb, late.plugin(config, folder), A)}
    exported = _export(folder)
    # the same penalties as nbgrader's own preprocessor gives, on a copy of the gradebook
    theirs = folder / "theirs.db"
    shutil.copy(folder / "gradebook.db", theirs)
    assert _nbgraders_own(f"sqlite:///{theirs}", config, folder) == {
        s: x.penalty for s, x in found.items()}
    # and what nbgrader export shows
    for student, row in exported.items():
        penalty = found[student].penalty if student in found else 0.0
        assert float(row["late_submission_penalty"]) == penalty, student
        assert float(row["score"]) == max(0.0, float(row["raw_score"]) - penalty)
    raw = float(exported["bob"]["raw_score"])
    assert raw > 4  # half marks of a 10-point assignment: the plugin's 4 points are not clamped
    expected = {"zero": raw, "plugin": 4.0}[policy]  # 3 h 5 min late: 4 started hours
    assert found["bob"].penalty == expected
    assert found["eve"].penalty == {"zero": float(exported["eve"]["raw_score"]), "plugin": 1.0}[
        policy]
    # on time, and late within an extension: no penalty; seconds late as nbgrader counts them
    assert found["ada"].penalty == found["cy"].penalty == 0.0
    assert found["ada"].seconds_late == found["cy"].seconds_late == 0
    assert found["bob"].seconds_late == (3 * 60 + 5) * 60
    assert found["cy"].due == DUE + EXTENSIONS["cy"]
    assert exported["dee"]["timestamp"] == "" and float(exported["dee"]["score"]) == 0.0


def test_without_a_policy_nothing_is_taken_and_a_second_run_changes_nothing(run):
    folder, url = run["folder"], run["url"]
    config = late.course_config(folder)
    for _ in range(2):
        with Gradebook(url) as gb:
            found = late.apply(gb, late.plugin(config, folder), A)
    assert {x.penalty for x in found} == {0.0}
    assert {x.student: x.seconds_late > 0 for x in found} == {
        "ada": False, "bob": True, "cy": False, "eve": True}


@pytest.mark.parametrize("line, says", [
    ('c.LateSubmissionPlugin.penalty_method = "half"', "penalty_method"),
    ('c.AssignLatePenalties.plugin_class = "nowhere.Plugin"', "nowhere"),
])
def test_a_late_policy_nbgrader_would_refuse_is_one_line(run, line, says):
    _set_policy(run["folder"], line)
    with pytest.raises(late.BadLatePolicy) as error:
        late.plugin(late.course_config(run["folder"]), run["folder"])
    assert says in str(error.value) and "\n" not in str(error.value)


def test_a_config_file_that_does_not_run_is_one_line(run):
    _set_policy(run["folder"], "c.Oops = undefined_name")
    with pytest.raises(late.BadLatePolicy, match="nbgrader_config.py") as error:
        late.course_config(run["folder"])
    assert "\n" not in str(error.value)


# --- grades out ------------------------------------------------------------------------------

def _penalised(run):
    _set_policy(run["folder"], 'c.LateSubmissionPlugin.penalty_method = "zero"')
    config = late.course_config(run["folder"])
    with Gradebook(run["url"]) as gb:
        late.apply(gb, late.plugin(config, run["folder"]), A)
        return grades_out.class_grades(gb, run["students"], [A])


def _read(path):
    with open(path, encoding="utf-8", newline="") as rows:
        return list(csv.reader(rows))


def test_class_grades_are_nbgrader_exports_one_row_per_roster_student(run):
    grades = _penalised(run)
    exported = _export(run["folder"])
    assert [g.student.id for g in grades] == [s.id for s in run["students"]]
    for g in grades:
        row = exported[g.student.id]
        assert (g.raw_score, g.late_penalty, g.score, g.max_score) == (
            float(row["raw_score"]), float(row["late_submission_penalty"]),
            float(row["score"]), float(row["max_score"]))
        # nbgrader's export has the roster's names and emails once the roster is imported
        assert (row["first_name"], row["last_name"], row["email"]) == (
            g.student.first_name, g.student.last_name, g.student.email or "")
    by_id = {g.student.id: g for g in grades}
    assert by_id["dee"].status == grades_out.NOT_SUBMITTED and by_id["dee"].score == 0
    assert by_id["bob"].status == "graded" and by_id["bob"].score == 0  # "zero": late = 0


def test_a_score_set_by_hand_in_the_gradebook_reaches_the_grades(run):
    """formgrader writes `manual_score`; nbgrader's score prefers it to `auto_score`."""
    with Gradebook(run["url"]) as gb:
        before = {g.student.id: g.score for g in grades_out.class_grades(gb, run["students"], [A])}
        grade = next(g for g in gb.find_submission(A, "ada").notebooks[0].grades
                     if g.max_score_gradecell)
        grade.manual_score = grade.max_score
        gb.db.commit()
        raised = grade.max_score - grade.auto_score
        after = {g.student.id: g.score for g in grades_out.class_grades(gb, run["students"], [A])}
    assert raised > 0 and after["ada"] == before["ada"] + raised
    assert after["ada"] == float(_export(run["folder"])["ada"]["score"])


def test_the_canvas_file_is_what_canvas_s_gradebook_importer_reads(run, tmp_path):
    grades = _penalised(run)
    path = grades_out.canvas_csv(tmp_path / "canvas-grades.csv", grades, {A: "77"})
    rows = _read(path)
    header, points, students = rows[0], rows[1], rows[2:]
    # Canvas's GradebookImporter: Student, ID, SIS User ID, SIS Login ID, Section, then
    # assignments as "title (id)"; a "Points Possible" row describes them
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A} (77)"]
    assert points[0] == "Points Possible" and float(points[5]) == grades[0].max_score
    assert len(students) == len(run["students"])
    by_id = {g.student.lms_id: g for g in grades}
    for row in students:
        if row[1]:
            g = by_id[row[1]]
            assert row[0] == f"{g.student.last_name}, {g.student.first_name}"
            assert float(row[5]) == g.score
    assert [r[0] for r in students if not r[1]] == ["Hopper, Eve"]
    assert grades_out.without_lms_id(run["students"]) == ["eve"]
    # without Canvas's assignment id the column is the title: Canvas offers a new assignment
    assert _read(grades_out.canvas_csv(tmp_path / "c2.csv", grades))[0][5] == A


def test_the_moodle_file_has_moodles_export_columns_and_every_student(run, tmp_path):
    grades = _penalised(run)
    rows = _read(grades_out.moodle_csv(tmp_path / "moodle-grades.csv", grades))
    assert rows[0] == ["First name", "Last name", "ID number", "Email address", A]
    expected = [[g.student.first_name, g.student.last_name, g.student.id,
                 g.student.email or "", f"{g.score:g}"] for g in grades]
    assert rows[1:] == expected
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("platform", ["canvas", "moodle"])
def test_a_platform_zip_and_a_roster_give_every_student_a_row(made, tmp_path, monkeypatch,
                                                              platform):
    """The term end to end on nbgrader's gradebook: a platform's zip in, the roster's whole
    class out in that platform's import file (scores written through nbgrader's API here)."""
    import zipfile

    monkeypatch.setenv("PATH", environment.with_env_bin()["PATH"])
    folder = tmp_path / "course"
    shutil.copytree(made, folder)
    released = (folder / "exercises" / A / f"{A}.ipynb").read_text(encoding="utf-8")
    names = {"canvas": ["lovelaceada_1001_50001_one-by-one.ipynb",
                        "byronbob_LATE_1002_50002_one-by-one.ipynb",
                        "curiecy_1003_50003_one-by-one-1.ipynb"],
             "moodle": ["Ada Lovelace_2001_assignsubmission_file_/one-by-one.ipynb",
                        "Bob Byron_2002_assignsubmission_file_/one-by-one (1).ipynb",
                        "Cy Curie_2003_assignsubmission_file_/homework.ipynb"]}[platform]
    with zipfile.ZipFile(tmp_path / "download.zip", "w") as archive:
        for name in names:
            archive.writestr(name, released)
    students = roster.read(folder / "roster.csv")
    found = intake.read(tmp_path / "download.zip", tmp_path, students, assignment=A)
    assert sorted(s.student for s in found.submissions) == ["ada", "bob", "cy"]
    assert [s.student for s in found.submissions if s.late] == (
        ["bob"] if platform == "canvas" else [])
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gb:
        _grade(gb, found.submissions, 1.0)
        grades = grades_out.class_grades(gb, students, [A])
    write = {"canvas": grades_out.canvas_csv, "moodle": grades_out.moodle_csv}[platform]
    rows = _read(write(tmp_path / f"{platform}-grades.csv", grades))
    body = rows[2:] if platform == "canvas" else rows[1:]
    assert len(body) == len(students)
    scores = [float(r[-1]) for r in body]
    full = grades[0].max_score
    assert scores == [full, full, full, 0.0, 0.0]  # ada, bob, cy graded; dee, eve did not submit
    assert [g.status for g in grades][3:] == [grades_out.NOT_SUBMITTED] * 2
