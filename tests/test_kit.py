"""The student kit, as a student with only the website gets it.

The wheel holds the course library, the checks and their data: no tools, no command, no extras
(tests/test_no_answers_in_kit.py shows no member of it earns an item's points). The end-to-end
test serves the built site on 127.0.0.1, makes a fresh venv outside the
repository, installs torch and numpy, then the kit *from the served site*, and runs exercise
notebooks downloaded from the site in a kernel of that venv: filled with the reference answers
they run clean; left blank they stop on the first NotImplementedError; and no tool (grading,
nbgrader, Sphinx) was loaded into the student's kernel. The Chinese notebook, downloaded from the
Chinese edition's page, runs clean too and its checks speak Chinese (the kit's compiled
catalogue, read by the standard library's gettext).
"""

import email.parser
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile

import nbformat
import pytest
from books import ROOT
from browser import serve
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from onebyone.tools import check_messages, kit
from onebyone.tools.release import assignments

KERNEL = "onebyone-student-kit"
TOOL_MODULES = ("onebyone.tools", "nbgrader", "sphinx", "jupyter_book", "myst_nb")


def test_every_kit_block_and_address_is_up_to_date():
    stale = [str(p.relative_to(ROOT)) for p in kit.out_of_date(ROOT)]
    assert stale == [], f"run `make exercises` to update the kit block in {stale}"


def test_the_kit_address_follows_the_one_setting():
    assert kit.kit_url(ROOT) == f"{kit.site_address(ROOT)}/kit/{kit.wheel_name()}"
    assert kit.kit_url(ROOT).startswith(("http://", "https://"))


def test_the_wheel_declares_ranges_and_holds_the_library_checks_and_data_only(tmp_path):
    wheel = kit.build_wheel(ROOT, tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        compiled = archive.read("onebyone/checks/locale/zh_CN/LC_MESSAGES/onebyone-checks.mo")
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(info).decode("utf-8"))
    requires = metadata.get_all("Requires-Dist")
    always = [r for r in requires if "extra ==" not in r]
    assert {re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in always} == \
        {"numpy", "torch", "matplotlib"}
    assert not [r for r in requires if "==" in r.split(";")[0]], "a student's kit pins nothing"
    assert metadata["Requires-Python"] == ">=3.10"
    assert not metadata.get_all("Provides-Extra"), "the tools' extras belong to the course env"
    assert "onebyone/checks/core.py" in names and "onebyone/models.py" in names
    assert {f"onebyone/checks/data/{a}.npz" for a in assignments(ROOT)} <= set(names)
    assert not [n for n in names if n.startswith("onebyone/tools")], "the tools are not the kit's"
    assert not [n for n in names if n.endswith("entry_points.txt")], "the kit installs no command"
    assert not [n for n in names if n.startswith(("solutions/", "chapters/", "exercises/"))]
    # the checks' Chinese messages, compiled from the catalogue as it is now
    package = _copy_catalogues(tmp_path / "compiled")
    assert compiled == check_messages.compile_catalogues(package)[0].read_bytes()


def _copy_catalogues(package):
    """A package folder holding only the checks' catalogues (.po), to compile them apart."""
    import shutil

    shutil.copytree(ROOT / "onebyone" / "checks" / "locale", package / "checks" / "locale",
                    ignore=shutil.ignore_patterns("*.mo"))
    return package


def _run(command, **kwargs):
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def student(built_book, tmp_path_factory):
    """(site address, kernels folder, work folder): a student's fresh Python with the kit
    installed from the served site, and a Jupyter kernel of it."""
    home = tmp_path_factory.mktemp("student")
    assert ROOT not in home.parents
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    with serve(built_book) as site:
        _run([sys.executable, "-m", "venv", str(home / "venv")], env=env)
        python = str(home / "venv" / "bin" / "python")
        # the student installs torch's CPU build and numpy first, then the kit from the site
        _run([python, "-m", "pip", "install", "--quiet", "torch==2.13.0", "numpy", "ipykernel"],
             env=env, cwd=home)
        _run([python, "-m", "pip", "install", "--quiet", f"{site}kit/{kit.wheel_name()}"],
             env=env, cwd=home)
        kernels = home / "jupyter"
        spec = kernels / "kernels" / KERNEL
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "a student's Python with the kit", "language": "python"}))
        yield site, kernels, home


def downloaded(site, assignment, edition=""):
    """The exercise notebook, fetched through the download link of its page on the site (of
    the edition "" or "zh/")."""
    page = urllib.request.urlopen(f"{site}{edition}exercises/{assignment}/{assignment}.html").read()
    link = next(h for h in re.findall(r'href="([^"]+\.ipynb)"', page.decode("utf-8")))
    url = urllib.parse.urljoin(f"{site}{edition}exercises/{assignment}/", link)
    return nbformat.reads(urllib.request.urlopen(url).read().decode("utf-8"), as_version=4)


def filled(notebook, assignment):
    """The notebook with every answer cell replaced by the reference answer."""
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = "\n".join(line for line in answers[grade_id].splitlines()
                                    if "### BEGIN SOLUTION" not in line
                                    and "### END SOLUTION" not in line)
    return notebook


CHECK_NO_TOOLS = f"""import sys, onebyone
tools = sorted(m for m in sys.modules if m.startswith({TOOL_MODULES!r}))
assert tools == [], tools
assert "site-packages" in onebyone.__file__, onebyone.__file__
print("no tool in this kernel; the kit came from", onebyone.__file__)"""


def execute(notebook, student, monkeypatch):
    site, kernels, home = student
    monkeypatch.setenv("JUPYTER_PATH", str(kernels))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    client = NotebookClient(notebook, kernel_name=KERNEL, timeout=300,
                            resources={"metadata": {"path": str(home)}})
    client.execute()
    return notebook


@pytest.mark.parametrize("assignment", assignments(ROOT))
def test_a_solved_exercise_runs_clean_on_the_kit(student, assignment, monkeypatch):
    notebook = filled(downloaded(student[0], assignment), assignment)
    notebook.cells.append(nbformat.v4.new_code_cell(CHECK_NO_TOOLS))
    execute(notebook, student, monkeypatch)
    last = notebook.cells[-1].outputs
    assert last and "no tool in this kernel" in last[0]["text"]


def test_a_blank_exercise_stops_on_the_first_unwritten_function(student, monkeypatch):
    assignment = assignments(ROOT)[0]
    notebook = downloaded(student[0], assignment)
    with pytest.raises(CellExecutionError) as stop:
        execute(notebook, student, monkeypatch)
    assert stop.value.ename == "NotImplementedError", stop.value
    ran = [c for c in notebook.cells if c.cell_type == "code" and c.get("execution_count")]
    assert not any(o.get("ename") == "ImportError" for c in ran for o in c.outputs)
    first_answer = next(c for c in notebook.cells
                        if c.metadata.get("nbgrader", {}).get("solution"))
    assert ran[-1].metadata["nbgrader"]["grade_id"].startswith("test_"), \
        "it stops in the first test cell, which calls the first unwritten function"
    assert ran.index(first_answer) == len(ran) - 2


def test_the_chinese_notebook_speaks_chinese_on_the_kit(student, monkeypatch):
    """Downloaded from the Chinese page and filled with the reference answers, it runs clean on
    the kit alone, and each public test cell says "passed" in Chinese."""
    assignment = assignments(ROOT)[0]
    notebook = filled(downloaded(student[0], assignment, "zh/"), assignment)
    setup = next(c for c in notebook.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    assert 'language("zh_CN")' in setup.source, "this is not the Chinese notebook"
    execute(notebook, student, monkeypatch)
    printed = [o.get("text", "") for c in notebook.cells
               if c.metadata.get("nbgrader", {}).get("grade") for o in c.outputs]
    ticks = [line for text in printed for line in text.splitlines() if line.startswith("\u2713")]
    # the catalogue's Chinese line, any item and count
    line = next(m for m in check_messages.read(check_messages.catalogue_path("zh_CN"))
                if isinstance(m.id, tuple) and "public" in m.id[0]).string[0]
    pattern = re.escape(line).replace(r"\{item\}", r"\w+").replace(r"\{count\}", r"\d+")
    assert ticks and all(re.fullmatch(pattern, t) for t in ticks), (pattern, ticks)
