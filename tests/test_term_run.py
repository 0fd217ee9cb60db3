"""The instructor's term through `onebyone grade`, on a course made by nbgrader's commands (its
gradebook, its due date from `nbgrader db assignment add --duedate`, its late policy in
nbgrader_config.py): a Canvas zip, a Moodle zip and nbgrader's own layout in, with a roster;
every roster student out in grades.csv, the report and the platforms' grade files; late
penalties as nbgrader's plugin and `nbgrader export` give them; a score set by hand through
nbgrader's Gradebook API kept on the next run."""

import concurrent.futures
import contextlib
import csv
import datetime
import io
import shutil
import subprocess
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
def made(tmp_path_factory, request):
    """A course folder as nbgrader leaves it: the sources, the course's nbgrader_config.py, the
    assignment's due date set with nbgrader's own command (its process runs while this one
    computes the expected scores, which every class's tests need)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PATH", environment.with_env_bin()["PATH"])  # nbgrader runs `alembic` by name
    folder = samples.copy_course(tmp_path_factory.mktemp("term"), [A])
    shutil.copy(course.ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        due = thread.submit(course.nbgrader, folder, "db", "assignment", "add", A,
                            f"--duedate={DUE} UTC")
        request.getfixturevalue("expected")
        due.result()
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


def _run(folder, submissions, out, *more):
    """cli.main's exit code and what it wrote on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = _grade(folder, submissions, out, *more)
    return code, err.getvalue()


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


@pytest.fixture(scope="module")
def platform_terms(made, tmp_path_factory, notebooks):
    """Each platform's zip of the class with the roster, graded once; every test of a class
    reads its run. Moodle's is run as an instructor runs it, `bin/grade` in its own process (its
    exit code is the grader's), while Canvas's runs in this process: side by side, as the two
    courses are apart; then each course's `nbgrader export`, side by side too."""
    terms = {}
    for platform, names in (("canvas", CANVAS), ("moodle", MOODLE)):
        tmp_path = tmp_path_factory.mktemp(platform)
        folder = _copy(made, tmp_path)
        terms[platform] = dict(platform=platform, folder=folder, out=tmp_path / "out",
                               names=names, download=_zip(tmp_path / f"{platform}.zip", names,
                                                          notebooks))
    moodle = terms["moodle"]
    said = moodle["folder"].parent / "bin-grade.stderr"
    with open(said, "w", encoding="utf-8") as stderr:
        # run from the class's folder, with paths relative to it (bin/grade keeps the caller's)
        bin_grade = subprocess.Popen(
            [str(course.ROOT / "bin" / "grade"), moodle["download"].name, "--course", "course",
             "--out", "out", "--jobs", "2", "--roster", "course/roster.csv", "--assignment", A],
            cwd=moodle["folder"].parent, env=environment.with_env_bin(),
            stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            canvas = terms["canvas"]
            canvas["code"], canvas["err"] = _run(canvas["folder"], canvas["download"],
                                                 canvas["out"], "--assignment", A)
        finally:
            moodle["code"] = bin_grade.wait(timeout=900)
    moodle["err"] = said.read_text(encoding="utf-8")
    with concurrent.futures.ThreadPoolExecutor(2) as threads:
        list(threads.map(lambda t: course.nbgrader(t["folder"], "export", "--to=export.csv"),
                         terms.values()))
    for term in terms.values():
        term.update(grades=_grades(term["out"]),
                    exported={r["student_id"]: r
                              for r in samples.read_csv(term["folder"] / "export.csv")},
                    roster=samples.read_csv(term["folder"] / "roster.csv"))
    return terms


@pytest.fixture(params=["canvas", "moodle"])
def platform_term(request, platform_terms):
    return platform_terms[request.param]


def test_a_platform_zip_and_a_roster_give_every_student_a_row(platform_term, expected):
    assert platform_term["code"] == 0, platform_term["err"]  # Moodle's: bin/grade's exit code
    assert "Not submitted (1 of the roster): dee/one-by-one" in platform_term["err"]
    grades = platform_term["grades"]
    assert sorted(grades) == ["ada", "bob", "cy", "dee"]  # the roster, not only the senders
    for student, score in expected.items():
        assert float(grades[student]["score"]) == score
        assert grades[student]["status"] == "graded"
    assert grades["dee"]["status"] == "not submitted" and float(grades["dee"]["score"]) == 0
    late_marked = [s for s, r in grades.items() if "Canvas marked it late (LATE_)" in r["note"]]
    assert late_marked == (["bob"] if platform_term["platform"] == "canvas" else [])


def test_the_gradebook_is_the_courses_and_nbgrader_export_agrees(platform_term):
    """The gradebook is the one nbgrader's commands read in the course: no other was made."""
    folder, out, grades = platform_term["folder"], platform_term["out"], platform_term["grades"]
    assert (folder / "gradebook.db").is_file() and not (out / "gradebook.db").exists()
    exported = platform_term["exported"]
    assert {s: float(r["score"]) for s, r in exported.items()} == {
        s: float(r["score"]) for s, r in grades.items()}
    assert exported["ada"]["first_name"] == "Ada" and exported["dee"]["email"] == \
        "dee@example.org"


def test_the_platforms_grade_files_have_every_roster_student(platform_term):
    out, grades, roster = platform_term["out"], platform_term["grades"], platform_term["roster"]
    canvas = _rows(out / "canvas-grades.csv")
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[0][5] == A and canvas[1][5] == "10"
    assert [(r[1], float(r[5])) for r in canvas[2:]] == [
        (s["lms_id"], float(grades[s["id"]]["score"])) for s in roster]
    moodle = _rows(out / "moodle-grades.csv")
    assert moodle[0] == ["First name", "Last name", "ID number", "Email address", A]
    assert [(r[2], r[3], float(r[4])) for r in moodle[1:]] == [
        (s["id"], s["email"], float(grades[s["id"]]["score"])) for s in roster]


def test_the_report_names_who_did_not_submit(platform_term):
    report = (platform_term["out"] / "report.html").read_text(encoding="utf-8")
    assert "Not submitted (students of the roster, score 0): dee (one-by-one)" in report


def test_formgraders_api_lists_every_submission_and_every_roster_student(platform_term):
    """nbgrader's API, the one formgrader's pages call: every submission autograded, with its
    score, and every roster student among the course's students."""
    folder, names, grades = platform_term["folder"], platform_term["names"], \
        platform_term["grades"]
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


LATE_BY = {"ada": -datetime.timedelta(hours=1), "bob": datetime.timedelta(minutes=5),
           "cy": datetime.timedelta(hours=2)}


@pytest.fixture(scope="module")
def late_term(made, tmp_path_factory, notebooks):
    """nbgrader's layout with `timestamp.txt`: cy two hours late under the course's policy
    "zero", graded; then a score given by hand in the gradebook (ada's first test now 0, through
    the API formgrader uses) and the same run again, which grades nothing again. What each run
    left is kept for the tests: the first run's tables, export and pages are read before the
    second run."""
    tmp_path = tmp_path_factory.mktemp("late")
    folder, out = _copy(made, tmp_path), tmp_path / "out"
    with open(folder / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    for student, text in notebooks.items():
        target = folder / "submitted" / student / A
        target.mkdir(parents=True)
        (target / f"{A}.ipynb").write_text(text, encoding="utf-8")
        (target / "timestamp.txt").write_text(_stamp(DUE + LATE_BY[student]))
    first = dict(zip(("code", "err"), _run(folder, folder / "submitted", out, "--assignment", A)))
    first["grades"] = _grades(out)
    course.nbgrader(folder, "export", "--to=export.csv")
    first["exported"] = {r["student_id"]: r for r in samples.read_csv(folder / "export.csv")}
    first["pages"] = {s: (out / "feedback" / s / A / f"{A}.html").read_text(encoding="utf-8")
                      for s in notebooks}

    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_submission(A, "ada").notebooks[0].grades[0]
        hand_cell, taken = grade.name, grade.max_score
        grade.manual_score = 0.0
        gradebook.db.commit()
    autograded = {s: folder / "autograded" / s / A / f"{A}.ipynb" for s in notebooks}
    written = {s: path.stat().st_mtime_ns for s, path in autograded.items()}
    second = dict(zip(("code", "err"), _run(folder, folder / "submitted", out, "--assignment",
                                            A)))
    second.update(grades=_grades(out), page=(out / "feedback" / "ada" / A / f"{A}.html")
                  .read_text(encoding="utf-8"),
                  items={(r["student_id"], r["grade_id"]): r
                         for r in samples.read_csv(out / "items.csv")},
                  unchanged=[s for s, path in autograded.items()
                             if path.stat().st_mtime_ns == written[s]])
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        second["gradebook_ada"] = gradebook.find_submission(A, "ada").score
    return dict(first=first, second=second, hand_cell=hand_cell, taken=taken)


def test_late_work_is_penalised_as_nbgrader_rules_it(late_term, expected):
    first = late_term["first"]
    assert first["code"] == 0, first["err"]
    grades = first["grades"]
    plugin = LateSubmissionPlugin(penalty_method="zero")
    for student, delta in LATE_BY.items():
        seconds = max(delta.total_seconds(), 0)
        penalty = (plugin.late_submission_penalty(student, expected[student], seconds) or 0.0
                   if seconds else 0.0)
        assert float(grades[student]["late_penalty"]) == penalty
        assert float(grades[student]["score"]) == max(0.0, expected[student] - penalty)
    assert float(grades["cy"]["late_penalty"]) == expected["cy"] > 0  # the policy bit
    exported = first["exported"]
    for student in LATE_BY:
        assert float(exported[student]["late_submission_penalty"]) == \
            float(grades[student]["late_penalty"])
        assert float(exported[student]["score"]) == float(grades[student]["score"])


def test_the_pages_say_the_penalty_and_blame_the_real_error(late_term, expected):
    pages = late_term["first"]["pages"]
    assert f"{expected['cy']:g} taken off by the course" in pages["cy"]
    # bob's page blames his SyntaxError, not a name he forgot to define
    assert "raised SyntaxError" in pages["bob"] and "define it in your notebook" not in pages["bob"]


def test_a_score_given_by_hand_stays_on_the_next_run(late_term, expected):
    second, taken = late_term["second"], late_term["taken"]
    assert second["code"] == 0, second["err"]
    assert "(0 now, 3 unchanged" in second["err"]
    assert "bob" in second["unchanged"]  # nothing of bob's changed
    assert float(second["grades"]["ada"]["score"]) == expected["ada"] - taken
    assert float(second["items"][("ada", late_term["hand_cell"])]["score"]) == 0.0
    assert f"<strong>{expected['ada'] - taken:g} / 10</strong>" in second["page"]
    assert second["gradebook_ada"] == expected["ada"] - taken  # and it stays


def test_the_summary_says_what_is_in_autograded_not_only_what_this_run_wrote(late_term):
    """A second run over unchanged submissions writes there only the notebooks whose scores the
    gradebook changed (ada's by hand, cy's late penalty), and says that all three are there."""
    assert "3 in autograded/ (3 written this run)" in late_term["first"]["err"]
    rewritten = 3 - len(late_term["second"]["unchanged"])  # counted by the files' times
    assert rewritten < 3
    assert f"3 in autograded/ ({rewritten} written this run)" in late_term["second"]["err"]


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


def test_bin_grade_passes_the_graders_exit_code_through_and_make_grade_says_it(tmp_path):
    """bin/grade's exit code is the grader's: 0 for the Moodle class above (run with bin/grade,
    from the class's folder with relative paths), 2 for a wrong option here, and 1 for a class
    with a broken notebook (graded, one not normally), as `make grade` runs it: its recipe
    says bin/grade's exit status (`$?`) and its meaning (cli.GRADE_EXIT_CODES), and fails, with
    make's only failure code, 2."""
    samples.write_class(tmp_path / "submitted", A, {"broken": "not a notebook"})
    env = environment.with_env_bin()

    def make(*args):
        return subprocess.run(["make", "-s", "-C", str(course.ROOT), "grade", *args], env=env,
                              capture_output=True, text=True, timeout=900)

    some = make(f"SUBMISSIONS={tmp_path / 'submitted'}", f"OUT={tmp_path / 'out'}",
                f"ASSIGNMENT={A}", "JOBS=1")
    assert some.returncode == 2, some.stderr  # make's only failure code
    assert "broken/one-by-one: invalid notebook" in some.stderr
    assert f"onebyone grade exited 1: {cli.GRADE_EXIT_CODES[1]}" in some.stderr
    assert (tmp_path / "out" / "grades.csv").is_file()  # graded all the same

    wrong = subprocess.run([str(course.ROOT / "bin" / "grade"), "submitted", "--out", "out",
                            "--jobs", "0"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=900)
    assert wrong.returncode == 2 and "--jobs must be at least 1 (got 0)" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    nothing = make(f"SUBMISSIONS={tmp_path / 'nowhere'}", f"OUT={tmp_path / 'out2'}")
    assert nothing.returncode == 2 and "no such file or folder" in nothing.stderr
    assert f"onebyone grade exited 2: {cli.GRADE_EXIT_CODES[2]}" in nothing.stderr
    assert "exited 1" not in nothing.stderr


def test_a_crash_of_the_grader_exits_3_not_1(tmp_path, capsys, monkeypatch):
    """A bug of the grader's (here: one planted where the run reads the roster) is not "some
    submissions were not graded normally" (1): its traceback and exit code 3."""
    from onebyone.tools.term import class_run

    def planted(*args):
        raise RuntimeError("a planted bug")

    monkeypatch.setattr(class_run, "prepare", planted)
    samples.write_class(tmp_path / "submitted", A, {"ada": "not a notebook"})
    code = cli.main(["grade", str(tmp_path / "submitted"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == cli.GRADER_FAILED == 3 and code not in (0, 1, 2, 130)
    assert "Traceback" in err and "RuntimeError: a planted bug" in err
    assert "the grader itself failed" in err
