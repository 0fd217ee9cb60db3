"""Regenerate exercises/ from solutions/ with nbgrader: `onebyone exercises [ID ...]`.

Each assignment is solutions/<id>/<id>.ipynb; nbgrader strips the solutions and hidden tests and
writes exercises/<id>/<id>.ipynb. The course commits both. First, the kit's "how to get going"
block, address and chapter links are brought up to date in the sources and intro.md (kit.py);
then the public tests' reference outputs are recorded into the kit's data (answers.py); last,
each Chinese notebook is made from its English release (chinese_notebooks.py), and the checks'
message catalogues are compiled, so that the course's own checks speak Chinese too.
"""

import pathlib
import subprocess
import tempfile

from onebyone.tools import answers, check_messages, chinese_notebooks, environment, kit

ROOT = environment.course_root()


class ReleaseFailed(RuntimeError):
    """nbgrader could not generate an assignment; the message holds its output."""


def assignments(root=ROOT):
    """The assignment ids: the folders of solutions/ that hold <id>/<id>.ipynb."""
    return sorted(p.parent.name for p in (root / "solutions").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def release(assignment_ids: list[str], root: pathlib.Path = ROOT) -> None:
    """Run nbgrader generate_assignment for each id, in the course folder `root`."""
    for path in kit.write_blocks(root):
        print(f"updated the kit block in {path.relative_to(root)}")
    env = environment.with_env_bin()
    # generate_assignment records the assignment in a gradebook; the course folder's own
    # (nbgrader's default, which formgrader and `onebyone grade` use) is left alone: a release
    # is no term's data, and a stray gradebook there would show nbgrader "0 students"
    scratch = tempfile.TemporaryDirectory(prefix="onebyone-release-")
    with scratch:
        _generate(assignment_ids, root, env, f"sqlite:///{scratch.name}/gradebook.db")


def _generate(assignment_ids: list[str], root, env: dict, db_url: str) -> None:
    for assignment in assignment_ids:
        done = subprocess.run([str(environment.env_bin() / "nbgrader"), "generate_assignment",
                               assignment, "--force", f"--db={db_url}"],
                              cwd=root, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ReleaseFailed(f"nbgrader could not release {assignment!r}:\n"
                                f"{done.stdout}{done.stderr}")
        print(f"released exercises/{assignment}/{assignment}.ipynb")
        stored = answers.record(assignment, root)
        print(f"recorded {stored} reference outputs into onebyone/checks/data/{assignment}.npz")
        chinese = chinese_notebooks.write(assignment, root)
        left = (f" ({len(chinese.untranslated)} blocks still English: `make translations`)"
                if chinese.untranslated else "")
        print(f"wrote exercises/{assignment}/{chinese_notebooks.LANGUAGE}/{assignment}.ipynb{left}")
    for compiled in check_messages.compile_catalogues(root / "onebyone"):
        print(f"compiled {compiled.relative_to(root)}")
