"""nbgrader's own workflow on what `onebyone grade` leaves: a term through nbgrader's exchange
(`release_assignment`, students' `submit`, `collect`), graded by `onebyone grade`, then
formgrader's API (the one its pages call) and formgrader's page for a submission in a real
browser, `generate_feedback`, `release_feedback` and the student's `fetch_feedback`; a score
given by hand in formgrader (through its own web API) reaches grades.csv on the next run."""

import concurrent.futures
import contextlib
import functools
import shutil
import socket
import subprocess
import time
import urllib.request

import course
import grading_samples as samples
import nbformat
import pytest
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from onebyone.tools import cli, environment
from onebyone.tools.term import late

A = samples.ASSIGNMENT
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
# what a student may put in a markdown cell to act in the instructor's formgrader session
XSS = ('<img src="missing.png" onerror="window.pwned = 1">\n\n'
       '<script>window.pwned = 2</script>\n\nbob\'s own notes')


def _nbgrader(folder, *args):
    return course.nbgrader(folder, *args)


def _hidden_test_lines():
    """Lines of the source's hidden tests (what no student may see)."""
    lines, inside = [], False
    for cell in samples.source_notebook(A).cells:
        for line in cell.source.splitlines():
            if line.strip() == HIDDEN[0]:
                inside = True
            elif line.strip() == HIDDEN[1]:
                inside = False
            elif inside and len(line.strip()) > 20:
                lines.append(line.strip())
    assert lines, "the source has hidden tests"
    return lines


def _side_by_side(*steps):
    """Run independent steps at once (each starts its own nbgrader process); their results."""
    with concurrent.futures.ThreadPoolExecutor(len(steps)) as threads:
        return [f.result() for f in [threads.submit(step) for step in steps]]


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    """Released through nbgrader's exchange, submitted by ada (honest) and bob (the release as
    handed out), collected, graded by `onebyone grade`."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PATH", environment.with_env_bin()["PATH"])
    base = tmp_path_factory.mktemp("exchange")
    folder = samples.copy_course(base / "course", [A])
    exchange, cache = base / "exchange", base / "cache"  # each student has a cache of theirs
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader's exchange wants a folder every user can write
    config = (course.ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    (folder / "nbgrader_config.py").write_text(
        config + f"\nc.Exchange.root = {str(exchange)!r}\nc.Exchange.cache = {str(cache)!r}\n",
        encoding="utf-8")
    _nbgrader(folder, "release_assignment", A)
    bob = samples.release_notebook(A)
    bob.cells.append(nbformat.v4.new_markdown_cell(XSS))  # a cell of bob's own
    notebooks = {"ada": samples.dumps(samples.honest(A)), "bob": samples.dumps(bob)}
    students = {}
    for student, text in notebooks.items():
        home = base / student
        (home / A).mkdir(parents=True)
        (home / A / f"{A}.ipynb").write_text(text, encoding="utf-8")
        students[student] = home
    # the students submit at the same time, as a class does (each nbgrader command is mostly
    # its own start-up: side by side, they take the time of one on two cores)
    _side_by_side(*(functools.partial(
        _nbgrader, home, "submit", A, "--course=onebyone", f"--student={student}",
        f"--Exchange.root={exchange}", f"--Exchange.cache={home / 'cache'}")
        for student, home in students.items()))
    _nbgrader(folder, "collect", A)
    out = base / "out"
    code = cli.main(["grade", str(folder / "submitted"), "--course", str(folder), "--out",
                     str(out), "--jobs", "2", "--assignment", A])
    assert code == 0
    yield {"folder": folder, "out": out, "students": students, "exchange": exchange,
           "cache": cache, "notebooks": notebooks}
    mp.undo()


def _api(folder):
    config = late.course_config(folder)
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def _scores(out):
    return {r["student_id"]: float(r["score"]) for r in samples.read_csv(out / "grades.csv")}


def test_formgraders_api_lists_every_submission_as_autograded_with_its_score(term):
    api = _api(term["folder"])
    submissions = {s["student"]: s for s in api.get_submissions(A)}
    assert set(submissions) == {"ada", "bob"}
    assert all(s["autograded"] and s["submitted"] for s in submissions.values())
    assert {s: v["score"] for s, v in submissions.items()} == _scores(term["out"])
    notebooks = api.get_notebook_submissions(A, A)
    assert sorted(n["student"] for n in notebooks) == ["ada", "bob"]
    # the autograded notebook is nbgrader's: its cells carry nbgrader's metadata, the student's
    # answer is in it, and no hidden test
    path = term["folder"] / "autograded" / "ada" / A / f"{A}.ipynb"
    autograded = nbformat.read(path, as_version=4)
    assert all("nbgrader" in c.metadata for c in autograded.cells
               if c.metadata.get("nbgrader", {}).get("grade_id"))
    everything = "\n".join(c.source for c in autograded.cells)
    assert samples.solution_code(A, samples.CONV_ITEM) in everything
    assert not any(line in everything for line in _hidden_test_lines())
    assert (path.parent / "timestamp.txt").read_text() == (
        term["folder"] / "submitted" / "ada" / A / "timestamp.txt").read_text()


def test_generate_and_release_feedback_work_and_the_student_fetches_the_page(term):
    folder, out = term["folder"], term["out"]
    ours = (out / "feedback" / "ada" / A / f"{A}.html").read_text(encoding="utf-8")
    assert (folder / "feedback" / "ada" / A / f"{A}.html").read_text(encoding="utf-8") == ours
    home = term["students"]["ada"]
    # nbgrader's own feedback, made from autograded/ in a copy of the course, meanwhile
    scratch = folder.parent / "course-generate"
    shutil.copytree(folder, scratch)

    def release_and_fetch():
        _nbgrader(folder, "release_feedback", A)
        _nbgrader(home, "fetch_feedback", A, "--course=onebyone", "--student=ada",
                  f"--Exchange.root={term['exchange']}", f"--Exchange.cache={home / 'cache'}")

    _side_by_side(release_and_fetch,
                  functools.partial(_nbgrader, scratch, "generate_feedback", A, "--force"))
    fetched = list((home / A / "feedback").glob("*/*.html"))
    assert [p.read_text(encoding="utf-8") for p in fetched] == [ours]

    # nbgrader's own feedback shows no hidden test either
    made = (scratch / "feedback" / "bob" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "AssertionError" in made or "NotImplementedError" in made  # bob's failures shown
    assert not any(line in made for line in _hidden_test_lines())


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _formgrader(folder, runtime):
    """Jupyter's server with nbgrader's extensions, in the course folder, as an instructor starts
    formgrader on a laptop (no token, this machine only)."""
    port = _free_port()
    env = environment.with_env_bin()
    env.update(JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_DATA_DIR=str(runtime / "data"))
    server = subprocess.Popen(
        [str(environment.env_bin() / "jupyter"), "server", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--IdentityProvider.token=", "--ServerApp.password=",
         "--allow-root", "--ServerApp.disable_check_xsrf=True"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{url}/formgrader/api/assignments", timeout=5)
                break
            assert server.poll() is None and time.monotonic() < deadline, \
                "formgrader did not start"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_formgrader_opens_a_submission_in_a_browser_and_a_score_given_there_is_kept(
        term, tmp_path, capsys, chromium):
    folder, out = term["folder"], term["out"]
    api = _api(folder)
    ada = next(n for n in api.get_notebook_submissions(A, A) if n["student"] == "ada")
    with _formgrader(folder, tmp_path / "runtime") as url:
        page = chromium.new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                   else route.abort())  # offline: nothing from another host
        response = page.goto(f"{url}/formgrader/submissions/{ada['id']}/?index=0")
        assert response.status == 200
        page.wait_for_selector("#notebook-container", timeout=60_000)
        text = page.inner_text("body")
        assert "def conv1x1" in text  # ada's answer, in formgrader's rendering
        # bob's markdown is shown, inert: no script of his runs in the instructor's session
        bob = next(n for n in api.get_notebook_submissions(A, A) if n["student"] == "bob")
        assert page.goto(f"{url}/formgrader/submissions/{bob['id']}/?index=1").status == 200
        page.wait_for_selector("#notebook-container", timeout=60_000)
        assert "bob's own notes" in page.inner_text("body")
        page.wait_for_timeout(500)  # an onerror= fires once the image has failed
        assert page.evaluate("window.pwned") is None
        page.goto(f"{url}/formgrader/submissions/{ada['id']}/?index=0")
        with api.gradebook as gradebook:
            grade = next(g for g in gradebook.find_submission_notebook_by_id(ada["id"]).grades
                         if g.max_score > 0)
            grade_id, cell, points = grade.id, grade.name, grade.max_score
        # a score given by hand, through formgrader's own web API, from its page
        status = page.evaluate(
            """async ([url, id]) => (await fetch(url + '/formgrader/api/grade/' + id,
                {method: 'PUT', headers: {'Content-Type': 'application/json'},
                 body: JSON.stringify({manual_score: 0})})).status""",
            [url, grade_id])
        assert status == 200
        page.close()
    before = _scores(out)["ada"]
    capsys.readouterr()
    assert cli.main(["grade", str(folder / "submitted"), "--course", str(folder), "--out",
                     str(out), "--jobs", "2", "--assignment", A]) == 0
    assert "(0 now, 2 unchanged" in capsys.readouterr().err
    assert _scores(out)["ada"] == before - points
    items = {(r["student_id"], r["grade_id"]): float(r["score"])
             for r in samples.read_csv(out / "items.csv")}
    assert items[("ada", cell)] == 0.0
