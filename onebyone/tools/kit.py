"""The student kit: the wheel a student installs from the website, and the one block of text that
tells them how (on the intro page, in every exercise notebook and in its setup cell's error).

The site's address is one setting, `html.baseurl` in `_config.yml`; the kit's address is derived
from it and the package's version. The block lives in this file only: `onebyone exercises`
writes it into intro.md and the exercise sources between its markers (tests/test_kit.py checks
that nothing is out of date).
"""

import importlib.metadata
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

from onebyone.tools import environment

KIT_FOLDER = "kit"  # where the wheel sits on the site: <baseurl>/kit/<wheel>
BEGIN, END = "<!-- kit: begin -->", "<!-- kit: end -->"
TORCH_CPU = "pip install torch --index-url https://download.pytorch.org/whl/cpu"
# the setup cell's line naming the kit's address (its ImportError message uses it)
KIT_LINE = re.compile(r'^KIT = "[^"]*"', re.MULTILINE)
# a notebook's link to its chapter: on the site, so that it works in a downloaded notebook
CHAPTER_LINK = re.compile(r"\]\((?:\.\./\.\./chapters/|https?://[^)\s]*/chapters/)([\w-]+)\.(?:md|html)\)")


def wheel_name(root=None):
    """The kit's file name, from the installed package's version (`make` reinstalls the
    package whenever pyproject.toml changes)."""
    return f"onebyone-{importlib.metadata.version('onebyone')}-py3-none-any.whl"


def site_address(root):
    """The site's base address, from `html.baseurl` in _config.yml, without a trailing slash."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    address = (config.get("html") or {}).get("baseurl")
    if not address:
        raise ValueError("_config.yml has no html.baseurl: set it to the site's address")
    return str(address).rstrip("/")


def kit_url(root, site=None):
    """Where a student downloads the kit: on the site at `site` (default: html.baseurl)."""
    return f"{(site or site_address(root)).rstrip('/')}/{KIT_FOLDER}/{wheel_name(root)}"


def block(root, where):
    """The "how to get going" block, in Markdown; `where` is "intro" or "exercise"."""
    first = ("Download an exercise notebook: the download button at the top of its page."
             if where == "intro" else
             "Save this notebook: the download button at the top of its page on the site.")
    return f"""{BEGIN}
**Doing the exercises with only this website.** You need Python 3.10 or newer.

1. {first}
2. If you have no torch yet, install its CPU build, which is all the course needs (the
   default build on Linux downloads gigabytes of GPU libraries):

   ```bash
   {TORCH_CPU}
   ```

3. Install the course's kit, the small `onebyone` package that the notebooks' tests call:

   ```bash
   pip install {kit_url(root)}
   ```

4. Open the notebook in Jupyter (`pip install jupyterlab`, then `jupyter lab`) and run it
   from the top. Each function's public tests sit in the cell after it.
{END}"""


def _with_block(text, new_block):
    """`text` with the region between the markers replaced (the markers must be there)."""
    start, stop = text.find(BEGIN), text.find(END)
    if start < 0 or stop < start:
        raise ValueError(f"the kit markers {BEGIN} ... {END} are missing")
    return text[:start] + new_block + text[stop + len(END):]


def _updated_notebook(path, root):
    """The source notebook's text with its kit block and KIT line up to date."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = CHAPTER_LINK.sub(
                lambda m: f"]({site_address(root)}/chapters/{m.group(1)}.html)", cell.source)
        if cell.cell_type == "markdown" and BEGIN in cell.source:
            cell.source = _with_block(cell.source, block(root, "exercise"))
        elif cell.cell_type == "code" and KIT_LINE.search(cell.source):
            cell.source = KIT_LINE.sub(f'KIT = "{kit_url(root)}"', cell.source)
    return nbformat.writes(notebook) + "\n"


def targets(root):
    """{path: up-to-date text} for every file that carries the block."""
    wanted = {root / "intro.md": _with_block((root / "intro.md").read_text(encoding="utf-8"),
                                             block(root, "intro"))}
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        if path.stem == path.parent.name:
            wanted[path] = _updated_notebook(path, root)
    return wanted


def out_of_date(root):
    """The files whose kit block or address differs from what this module would write."""
    return [path for path, text in targets(root).items()
            if path.read_text(encoding="utf-8") != text]


def write_blocks(root):
    """Bring every block up to date; returns the files changed."""
    changed = out_of_date(root)
    for path, text in targets(root).items():
        if path in changed:
            path.write_text(text, encoding="utf-8")
    return changed


# What the kit's wheel holds: the course library, the checks and their data. Never the tools
# (grading, release, the reference's runner, the `onebyone` command): they stay in the course
# folder, installed in the course's own environment only.
KIT_EXCLUDES = ("tools", "__pycache__", "*.pyc", "*.mo")  # .mo: compiled afresh


def kit_pyproject(root):
    """The kit's own pyproject.toml: the course package's name, version and dependency ranges,
    with no extras and no command (the course's pyproject keeps those for the tools)."""
    import json

    import tomllib

    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    quoted = ", ".join(json.dumps(d) for d in project["dependencies"])
    return f"""[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = {json.dumps(project["name"])}
version = {json.dumps(project["version"])}
description = "One by One: the course library and the exercises' checks (the student kit)"
readme = "README.md"
requires-python = {json.dumps(project["requires-python"])}
license = {json.dumps(project["license"])}
dependencies = [{quoted}]

[tool.setuptools.packages.find]
include = ["onebyone*"]

[tool.setuptools.package-data]
"onebyone.checks" = ["data/*.npz", "locale/*/LC_MESSAGES/*.po", "locale/*/LC_MESSAGES/*.mo"]
"""


def build_wheel(root, into):
    """Build the student kit's wheel into folder `into` (offline: no build isolation).

    It is built from a clean copy of what the kit is made of (the package without its tools,
    and the kit's own pyproject), so no stale `build/` folder can slip an old file into it and
    the course folder is left as it was."""
    into = pathlib.Path(into).resolve()
    into.mkdir(parents=True, exist_ok=True)
    for old in into.glob("onebyone-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="onebyone-kit-") as scratch:
        for name in ("README.md", "LICENSE"):
            shutil.copy2(root / name, scratch)
        (pathlib.Path(scratch) / "pyproject.toml").write_text(kit_pyproject(root),
                                                              encoding="utf-8")
        shutil.copytree(root / "onebyone", pathlib.Path(scratch) / "onebyone",
                        ignore=shutil.ignore_patterns(*KIT_EXCLUDES))
        # the checks' messages in every language, compiled for the stdlib's gettext
        from onebyone.tools import check_messages  # (Babel: only when a kit is built)

        check_messages.compile_catalogues(pathlib.Path(scratch) / "onebyone")
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
             "--no-build-isolation", "--wheel-dir", str(into), scratch],
            capture_output=True, text=True, env=environment.with_env_bin())
    if done.returncode != 0:
        raise RuntimeError(f"building the kit's wheel failed:\n{done.stdout}{done.stderr}")
    return into / wheel_name(root)
