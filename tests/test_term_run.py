"""The instructor's term through `onebyone grade`, on a course made by nbgrader's commands (its
gradebook, its due date from `nbgrader db assignment add --duedate`, its late policy in
nbgrader_config.py): a Canvas zip, a Moodle zip and nbgrader's own layout in, with a roster;
every roster student out in grades.csv, the report and the platforms' grade files; late
penalties as nbgrader's plugin and `nbgrader export` give them; a score set by hand through
nbgrader's Gradebook API kept on the next run."""

import csv
import datetime
import shutil
import zipfile

import course
import grading_samples as samples
import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.abc.exchange import Exchange
from nbgrader.plugins import LateSubmissionPlugin

from onebyone.tools import cli, environment
from onebyone.tools.term import late

A = samples.ASSIGNMENT
DUE = datetime.datetime(2026, 3, 1, 17, 0, 0)  # naive UTC, as nbgrader stores it
ROSTER = """id,first_name,last_name,email,lms_id
ada,Ada,Lovelace,ada@example.org,1001
bob,Bob,Byron,bob@example.org,1002
cy,Cy,Curie,cy@example.org,1003
dee,Dee,Noether,dee@example.org,1004
"""
CANVAS = {"ada": "lovelaceada_1001_50001_one-by-one.ipynb",
          "bob": "byronbob_LATE_1002_50002_one-by-one.ipynb",
          "cy": "curiecy_1003_50003_one-by-one-1.ipynb"}
MOODLE = {"ada": "Ada Lovelace_1001_assignsubmission_file_/one-by-one.ipynb",
          "bob": "Bob Byron_1002_assignsubmission_file_/one-by-one (1).ipynb",
          "cy": "Cy Curie_1003_assignsubmission_file_/homework.ipynb"}


# bob's conv1x1 does not parse: its tests fail on a name his cell never got to define
SYNTAX_ERROR = "def conv1x1(x, weight, bias=None, groups=1)\n    return x\n"


@pytest.fixture(scope="module")
def notebooks():
    """{student: notebook text}: ada and cy honest, bob the release with a conv1x1 that does
    not parse (fails)."""
    honest = samples.dumps(samples.honest(A))
    bob = samples.set_code(samples.release_notebook(A), samples.CONV_ITEM, SYNTAX_ERROR)
    return {"ada": honest, "bob": samples.dumps(bob), "cy": honest}


@pytest.fixture(scope="module")
def expected(notebooks):
    """Each student's score computed the second way (a plain in-process run)."""
    return {s: sum(samples.reference_scores(nbformat.reads(text, as_version=4),
                                            A).values()) for s, text in notebooks.items()}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A course folder as nbgrader leaves it: the sources, the course's nbgrader_config.py, the
    assignment's due date set with nbgrader's own command."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PATH", environment.with_env_bin()["PATH"])  # nbgrader runs `alembic` by name
    folder = samples.copy_course(tmp_path_factory.mktemp("term"), [A])
    shutil.copy(course.ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    course.nbgrader(folder, "db", "assignment", "add", A, f"--duedate={DUE} UTC")
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    yield folder
    mp.undo()


def _copy(made, tmp_path):
    folder = tmp_path / "course"
    shutil.copytree(made, folder)
    return folder


def _grade(folder, submissions, out, *more):
    return cli.main(["grade", str(submissions), "--course", str(folder), "--out", str(out),
                     "--jobs", "2", "--roster", str(folder / "roster.csv"), *more])


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _grades(out):
    return {r["student_id"]: r for r in samples.read_csv(out / "grades.csv")}


def _zip(target, names, notebooks):
    with zipfile.ZipFile(target, "w") as archive:
        for student, name in names.items():
            archive.writestr(name, notebooks[student])
    return target


@pytest.mark.parametrize("platform", ["canvas", "moodle"])
def test_a_platform_zip_and_a_roster_give_every_student_a_row_and_the_grade_files(
        made, tmp_path, notebooks, expected, platform, capsys):
    folder, out = _copy(made, tmp_path), tmp_path / "out"
    names = {"canvas": CANVAS, "moodle": MOODLE}[platform]
    download = _zip(tmp_path / f"{platform}.zip", names, notebooks)
    assert _grade(folder, download, out, "--assignment", A) == 0
    err = capsys.readouterr().err
    assert "Not submitted (1 of the roster): dee/one-by-one" in err

    grades = _grades(out)
    assert sorted(grades) == ["ada", "bob", "cy", "dee"]  # the roster, not only the senders
    for student, score in expected.items():
        assert float(grades[student]["score"]) == score
        assert grades[student]["status"] == "graded"
    assert grades["dee"]["status"] == "not submitted" and float(grades["dee"]["score"]) == 0
    late_marked = [s for s, r in grades.items() if "Canvas marked it late (LATE_)" in r["note"]]
    assert late_marked == (["bob"] if platform == "canvas" else [])

    # the gradebook is the one nbgrader's commands read in the course: no other was made
    assert (folder / "gradebook.db").is_file() and not (out / "gradebook.db").exists()
    course.nbgrader(folder, "export", "--to=export.csv")
    exported = {r["student_id"]: r for r in samples.read_csv(folder / "export.csv")}
    assert {s: float(r["score"]) for s, r in exported.items()} == {
        s: float(r["score"]) for s, r in grades.items()}
    assert exported["ada"]["first_name"] == "Ada" and exported["dee"]["email"] == \
        "dee@example.org"

    roster = samples.read_csv(folder / "roster.csv")
    canvas = _rows(out / "canvas-grades.csv")
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[0][5] == A and canvas[1][5] == "10"
    assert [(r[1], float(r[5])) for r in canvas[2:]] == [
        (s["lms_id"], float(grades[s["id"]]["score"])) for s in roster]
    moodle = _rows(out / "moodle-grades.csv")
    assert moodle[0] == ["First name", "Last name", "ID number", "Email address", A]
    assert [(r[2], r[3], float(r[4])) for r in moodle[1:]] == [
        (s["id"], s["email"], float(grades[s["id"]]["score"])) for s in roster]

    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Not submitted (students of the roster, score 0): dee (one-by-one)" in report

    # formgrader (nbgrader's API its pages call) lists every submission as autograded, with
    # its score, and every roster student among the course's students
    config = late.course_config(folder)
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    listed = {s["student"]: s for s in api.get_submissions(A)}
    assert sorted(listed) == sorted(names) and all(v["autograded"] for v in listed.values())
    assert {s: v["score"] for s, v in listed.items()} == {
        s: float(grades[s]["score"]) for s in names}
    assert sorted(s["id"] for s in api.get_students()) == ["ada", "bob", "cy", "dee"]


def _stamp(when):
    return when.replace(tzinfo=datetime.timezone.utc).strftime(
        Exchange.timestamp_format.default_value)


def test_late_work_is_penalised_as_nbgrader_rules_it_and_a_score_given_by_hand_stays(
        made, tmp_path, notebooks, expected, capsys):
    """nbgrader's layout with `timestamp.txt`: cy two hours late under the course's policy
    "zero"; then a score given by hand in the gradebook reaches every output on the next run,
    which grades nothing again."""
    folder, out = _copy(made, tmp_path), tmp_path / "out"
    with open(folder / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    late_by = {"ada": -datetime.timedelta(hours=1), "bob": datetime.timedelta(minutes=5),
               "cy": datetime.timedelta(hours=2)}
    for student, text in notebooks.items():
        target = folder / "submitted" / student / A
        target.mkdir(parents=True)
        (target / f"{A}.ipynb").write_text(text, encoding="utf-8")
        (target / "timestamp.txt").write_text(_stamp(DUE + late_by[student]))
    assert _grade(folder, folder / "submitted", out, "--assignment", A) == 0

    grades = _grades(out)
    plugin = LateSubmissionPlugin(penalty_method="zero")
    for student, delta in late_by.items():
        seconds = max(delta.total_seconds(), 0)
        penalty = (plugin.late_submission_penalty(student, expected[student], seconds) or 0.0
                   if seconds else 0.0)
        assert float(grades[student]["late_penalty"]) == penalty
        assert float(grades[student]["score"]) == max(0.0, expected[student] - penalty)
    assert float(grades["cy"]["late_penalty"]) == expected["cy"] > 0  # the policy bit
    course.nbgrader(folder, "export", "--to=export.csv")
    exported = {r["student_id"]: r for r in samples.read_csv(folder / "export.csv")}
    for student in late_by:
        assert float(exported[student]["late_submission_penalty"]) == \
            float(grades[student]["late_penalty"])
        assert float(exported[student]["score"]) == float(grades[student]["score"])
    page = (out / "feedback" / "cy" / A / f"{A}.html").read_text(encoding="utf-8")
    assert f"{expected['cy']:g} taken off by the course" in page
    # bob's page blames his SyntaxError, not a name he forgot to define
    page = (out / "feedback" / "bob" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "raised SyntaxError" in page and "define it in your notebook" not in page
    capsys.readouterr()

    # a score given by hand, through the API formgrader uses: ada's first test now 0
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_submission(A, "ada").notebooks[0].grades[0]
        hand_cell, taken = grade.name, grade.max_score
        grade.manual_score = 0.0
        gradebook.db.commit()
    autograded = {s: folder / "autograded" / s / A / f"{A}.ipynb" for s in notebooks}
    made = {s: path.stat().st_mtime_ns for s, path in autograded.items()}
    assert _grade(folder, folder / "submitted", out, "--assignment", A) == 0
    assert "(0 now, 3 unchanged" in capsys.readouterr().err
    assert autograded["bob"].stat().st_mtime_ns == made["bob"]  # nothing of bob's changed
    after = _grades(out)
    assert float(after["ada"]["score"]) == expected["ada"] - taken
    items = {(r["student_id"], r["grade_id"]): r for r in samples.read_csv(out / "items.csv")}
    assert float(items[("ada", hand_cell)]["score"]) == 0.0
    page = (out / "feedback" / "ada" / A / f"{A}.html").read_text(encoding="utf-8")
    assert f"<strong>{expected['ada'] - taken:g} / 10</strong>" in page
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:  # and it stays
        assert gradebook.find_submission(A, "ada").score == expected["ada"] - taken


def test_input_that_matches_nothing_is_one_line_and_exit_2(made, tmp_path, capsys):
    folder = _copy(made, tmp_path)
    download = tmp_path / "download"
    (download / "misc").mkdir(parents=True)
    (download / "Untitled.ipynb").write_text("{}")
    (download / "notes.txt").write_text("notes")
    (download / "misc" / "readme.md").write_text("readme")
    code = cli.main(["grade", str(download), "--course", str(folder), "--out",
                     str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "found no submission among 3 file(s)" in err and "Untitled.ipynb" in err
    assert "Traceback" not in err


def test_an_out_that_is_a_file_is_one_line(made, tmp_path, capsys):
    folder = _copy(made, tmp_path)
    (tmp_path / "out.txt").write_text("mine")
    code = cli.main(["grade", str(folder), "--course", str(folder), "--out",
                     str(tmp_path / "out.txt")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "is a file" in err
    assert (tmp_path / "out.txt").read_text() == "mine"


def test_the_summary_names_only_what_exists(tmp_path):
    """A run whose results were all kept from an earlier one writes no page: the summary names
    no feedback folder, and says the results were kept, not graded."""
    import io

    from onebyone.tools.grading import batch
    from onebyone.tools.grading.result import Result, Status

    (tmp_path / "grades.csv").write_text("")
    stream = io.StringIO()
    kept = [Result("ada", A, "k", Status.GRADED, [], [])]
    batch._summary(kept, 0, 0.0, [], tmp_path, stream)
    said = stream.getvalue()
    assert "feedback" not in said and "items.csv" not in said and "grades.csv" in said
    assert "0 now, 1 unchanged since an earlier run: kept, not graded again" in said
    assert "Graded" not in said


@pytest.mark.parametrize("raised", ["MemoryError", "SyntaxError: invalid syntax (<cell>, "
                                    "line 1)"])
def test_a_missing_name_is_blamed_on_the_cell_that_failed_to_define_it(raised):
    from onebyone.tools.grading import runner

    error = NameError("name 'Bottleneck' is not defined")
    told = runner.failure_message(error, [("bottleneck", raised)])
    assert f"your cell bottleneck raised {raised}" in told and "define it in" not in told
    assert "define it in your notebook" in runner.failure_message(error)  # nothing failed


def test_a_release_leaves_no_gradebook_in_the_course_folder(tmp_path, monkeypatch):
    """`make exercises` (release.release) writes the release, never the course's gradebook
    (what nbgrader's commands without --db, formgrader and `onebyone grade` read)."""
    import types

    from onebyone.tools import answers, chinese_notebooks, kit, release

    folder = samples.copy_course(tmp_path, [A])
    shutil.copy(course.ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    (folder / "exercises" / A / f"{A}.ipynb").unlink()
    # the kit's blocks and the reference outputs are written into the checkout: not here
    monkeypatch.setattr(kit, "write_blocks", lambda root: [])
    monkeypatch.setattr(answers, "record", lambda assignment, root: 0)
    # the Chinese notebook needs the book's config and catalogues (tests/test_i18n_notebooks.py)
    monkeypatch.setattr(chinese_notebooks, "write",
                        lambda assignment, root: types.SimpleNamespace(untranslated=[]))
    release.release([A], folder)
    assert (folder / "exercises" / A / f"{A}.ipynb").is_file()
    assert not (folder / "gradebook.db").exists()


def test_make_grade_keeps_the_graders_1_apart_from_a_usage_error(tmp_path):
    """`make grade`: the grader's 1 (some submissions not graded normally) is said in a line and
    is not make's 2, which stays for a run that could not grade at all."""
    import subprocess

    folder = tmp_path / "submitted"
    samples.write_class(folder, A, {"broken": "not a notebook"})
    env = environment.with_env_bin()

    def make(*args):
        return subprocess.run(["make", "-s", "-C", str(course.ROOT), "grade", *args], env=env,
                              capture_output=True, text=True, timeout=600)

    some = make(f"SUBMISSIONS={folder}", f"OUT={tmp_path / 'out'}", f"ASSIGNMENT={A}", "JOBS=1")
    assert some.returncode == 0, some.stderr
    assert "broken/one-by-one: invalid notebook" in some.stderr
    assert "onebyone grade exited 1" in some.stderr
    nothing = make(f"SUBMISSIONS={tmp_path / 'nowhere'}", f"OUT={tmp_path / 'out2'}")
    assert nothing.returncode == 2 and "no such file or folder" in nothing.stderr
    assert "exited 1" not in nothing.stderr
