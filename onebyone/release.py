"""Regenerate exercises/ from solutions/ with nbgrader: `python -m onebyone.release [ID ...]`.

Each assignment is solutions/<id>/<id>.ipynb; nbgrader strips the solutions and hidden tests and
writes exercises/<id>/<id>.ipynb. The course commits both.
"""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def assignments(root=ROOT):
    """The assignment ids: the folders of solutions/ that hold <id>/<id>.ipynb."""
    return sorted(p.parent.name for p in (root / "solutions").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def release(assignment_ids, root=ROOT):
    """Run nbgrader generate_assignment for each id, in the course folder `root`."""
    bin_dir = pathlib.Path(sys.executable).parent  # nbgrader runs `alembic` by name
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    for assignment in assignment_ids:
        done = subprocess.run([str(bin_dir / "nbgrader"), "generate_assignment", assignment,
                               "--force"], cwd=root, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"nbgrader could not release {assignment!r}: see its output above.")
        print(f"released exercises/{assignment}/{assignment}.ipynb")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    known = assignments()
    unknown = sorted(set(argv) - set(known))
    if unknown:
        print(f"unknown assignment(s): {', '.join(unknown)}; known: {', '.join(known)}",
              file=sys.stderr)
        return 2
    release(argv or known)
    return 0


if __name__ == "__main__":
    sys.exit(main())
