"""The feedback page speaks the language of the submitted notebook.

A Chinese submission (the Chinese release, exercises/<id>/zh_CN/<id>.ipynb, filled in) gets its
page in Chinese: the page's own words (grading/wording.py, catalogue onebyone-grader) and the
hidden tests' messages (the checks, onebyone-checks). The language is read from the notebook's
read-only cells (grading/language.py). The grading worker is long-lived, so a class graded
[zh, en, zh, en] in one run, by one worker and by two, must give each page its own language:
no Chinese on an English page after a Chinese submission.
"""

import re
import shutil
import string

import grading_samples as samples
import nbformat
import pytest
from graded_course import chinese_submission

from onebyone.checks import messages
from onebyone.tools import check_messages, cli
from onebyone.tools.grading import course, language, wording

A = samples.ASSIGNMENT
CJK = re.compile(r"[\u4e00-\u9fff]")
ORDER = ["s1-zh", "s2-en", "s3-zh", "s4-en"]  # graded in this order by one worker


def _fields(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _catalogue():
    return check_messages.read(check_messages.catalogue_path("zh_CN", domain=check_messages.GRADER))


# --- the catalogue -------------------------------------------------------------------------------

def test_the_graders_catalogue_is_current_and_complete():
    """Every word of the page and every note template is in the catalogue, translated, none
    fuzzy, each with the fields of its English."""
    wanted = {m.id for m in check_messages.template(domain=check_messages.GRADER) if m.id}
    catalogue = [m for m in _catalogue() if m.id]
    assert wanted == {m.id for m in catalogue}, (
        "run `make translations`, then translate: "
        f"{sorted(map(str, wanted ^ {m.id for m in catalogue}))[:10]}")
    todo = [m.id for m in catalogue if m.fuzzy or not m.string]
    assert not todo, f"untranslated or fuzzy: {todo}"
    assert [m.id for m in catalogue if _fields(m.string) != _fields(m.id)] == []


def test_the_catalogue_holds_what_the_page_and_the_notes_say():
    """The extraction finds the template's words, the notes' templates and the statuses (so a
    new note or heading cannot stay English unnoticed)."""
    wanted = {m.id for m in check_messages.template(domain=check_messages.GRADER) if m.id}
    assert {"Feedback on {exercise}", "The whole message", "passed",  # feedback.html, feedback.py
            "read-only cell {cell} was changed: restored from the source",  # plan.py
            "timed out after {seconds} s",  # runner.py
            "the time limit was reached",  # remote.py
            "tampering detected"} <= wanted  # result.Status


def test_every_note_template_reads_back_in_chinese():
    """A note made from each template (sample field values) is shown as the template's
    translation filled with the same values: matched, not looked up whole."""
    check_messages.compile_catalogues()
    words = wording.Words("zh_CN")
    english = wording.Words("en")
    for entry in _catalogue():
        if not entry.id or not _fields(entry.id):
            continue
        values = {name: f"<{name}-7>" for name in _fields(entry.id)}
        made = entry.id.format(**values)
        assert words.note(made) == entry.string.format(**values), entry.id
        assert english.note(made) == made
    # a field that is itself a message (a status) is translated too; unknown text is kept
    assert words.note("not run: timed out") == "没有运行：超时"
    assert words.note("RuntimeError: worker lost") == "RuntimeError: worker lost"


# --- the language of a notebook -------------------------------------------------------------------

@pytest.fixture(scope="module")
def source():
    check_messages.compile_catalogues()
    return course.sources_of(samples.ROOT, [A])[A]


def _language(source, text):
    return language.of_submission(source, nbformat.reads(text, as_version=4))


def test_the_language_is_the_release_the_notebook_matches(source):
    english = (samples.ROOT / "exercises" / A / f"{A}.ipynb").read_text(encoding="utf-8")
    chinese = chinese_submission(A, {})
    assert _language(source, english) == "en"
    assert _language(source, chinese) == "zh_CN"
    # one Chinese cell edited, or one English cell pasted in: the rest still say Chinese
    notebook = nbformat.reads(chinese, as_version=4)
    locked = [c for c in notebook.cells if c.cell_type == "markdown"
              and c.metadata.get("nbgrader", {}).get("locked")]
    locked[0].source += "\n改过了。"
    assert _language(source, nbformat.writes(notebook)) == "zh_CN"
    # nothing that matches a translated cell (every read-only cell gone): English
    notebook.cells = [c for c in notebook.cells if not c.metadata.get("nbgrader", {}).get("locked")]
    assert _language(source, nbformat.writes(notebook)) == "en"


def test_speaking_ends_with_the_submission_however_it_ends():
    assert messages.language() == "en"
    with pytest.raises(RuntimeError), language.speaking("zh_CN"):
        assert messages.language() == "zh_CN"
        raise RuntimeError("the grader failed mid-submission")
    assert messages.language() == "en"
    with language.speaking("xx_YY"):  # no catalogue: graded in English, never refused
        assert messages.language() == "en"


# --- a class graded in both languages ------------------------------------------------------------

def _cells():
    """Every item filled with the instructor's solution except fold_1x1 (a known mistake), so
    that its public and hidden tests fail with the checks' messages."""
    source = samples.source_notebook(A)
    code = {c.metadata["nbgrader"]["grade_id"]: samples.solution_code(A, c.metadata["nbgrader"][
        "grade_id"]) for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")}
    return {**code, samples.FOLD_ITEM: samples.WRONG_FOLD}


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    check_messages.compile_catalogues()  # the checks' and the grader's .mo, as `make` does
    base = tmp_path_factory.mktemp("languages")
    course_folder = samples.copy_course(base / "course", [A])
    shutil.copy(samples.ROOT / "_config.yml", course_folder)  # the site the pages link to
    english = samples.release_notebook(A)
    for gid, code in _cells().items():
        samples.set_code(english, gid, code)
    texts = {"zh": chinese_submission(A, _cells()), "en": samples.dumps(english)}
    samples.write_class(base / "submitted", A, {s: texts[s[3:]] for s in ORDER})
    return base / "submitted", course_folder


def _pages(out):
    return {s: (out / "feedback" / s / A / f"{A}.html").read_text(encoding="utf-8")
            for s in ORDER}


def _messages(page):
    return re.findall(r'<div class="message diagnosis">(.*?)</div>', page, re.DOTALL)


def _check_pages(pages):
    for student, page in pages.items():
        failures = _messages(page)
        assert len(failures) == len(samples.FOLD_TESTS), (student, failures)
        if student.endswith("zh"):
            assert '<html lang="zh-CN">' in page and "未通过" in page and "得分" in page
            assert all(CJK.search(message) for message in failures), (student, failures)
            # the links go to the Chinese edition: the exercise's tasks (at the English anchors
            # Sphinx keeps) with their Chinese titles, and the chapter
            links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)
            assert links and all("/zh/" in url for url, _ in links), links
            tasks = [(url, text) for url, text in links if "#" in url]
            assert tasks and all(CJK.search(text) and "\\" not in text for _, text in tasks)
            assert any("/zh/chapters/" in url for url, _ in links)
        else:
            assert '<html lang="en">' in page and "failed" in page and "Score:" in page
            assert not CJK.search(page), (student, CJK.findall(page)[:10])
            assert "/zh/" not in page


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_each_page_speaks_its_notebooks_language(submitted, tmp_path, jobs):
    folder, course_folder = submitted
    out = tmp_path / "out"
    code = cli.main(["grade", str(folder), "--out", str(out), "--jobs", jobs, "--course",
                     str(course_folder), "--db-url", f"sqlite:///{tmp_path / 'gradebook.db'}"])
    assert code == 0
    _check_pages(_pages(out))
    rows = samples.read_csv(out / "grades.csv")
    scores = {r["student_id"]: float(r["score"]) for r in rows}
    assert len(set(scores.values())) == 1, scores  # the language changes no score


def test_each_page_speaks_its_notebooks_language_on_dask(submitted, tmp_path):
    """The same class on a real Dask cluster of one worker (one thread): it grades all four in
    the same long-lived process."""
    from onebyone.tools import local_dask

    folder, course_folder = submitted
    out = tmp_path / "out"
    cluster = local_dask.LocalCluster(tmp_path / "dask", workers=1)
    try:
        code = cli.main(["grade", str(folder), "--out", str(out), "--scheduler", cluster.address,
                         "--course", str(course_folder),
                         "--db-url", f"sqlite:///{tmp_path / 'gradebook.db'}"])
    finally:
        cluster.stop()
    assert code == 0
    _check_pages(_pages(out))
