"""The course's command line: `onebyone grade SUBMISSIONS --out OUT [--jobs N] ...`."""

import argparse
import os
import pathlib
import sys

from onebyone.grading import batch, sandbox, submissions


def _grade_parser(commands):
    defaults = sandbox.Limits()
    parser = commands.add_parser(
        "grade", help="grade a class's submissions",
        description="Grade every <student>/<assignment>/<assignment>.ipynb under SUBMISSIONS "
                    "(a folder in nbgrader's submitted layout, or a .zip of it). Writes "
                    "OUT/grades.csv, OUT/items.csv, OUT/feedback/ and the gradebook; a second run "
                    "only grades what changed. Exit code 0 when every submission was graded "
                    "normally.")
    parser.add_argument("submissions", type=pathlib.Path, metavar="SUBMISSIONS")
    parser.add_argument("--out", type=pathlib.Path, required=True, metavar="OUT",
                        help="output folder (tables, feedback, journal, default gradebook)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="submissions graded side by side (default: the number of cores, "
                             "%(default)s here)")
    parser.add_argument("--assignment", action="append", metavar="ID",
                        help="grade only this assignment (repeat for several)")
    parser.add_argument("--db-url", metavar="URL",
                        help="gradebook database (default: sqlite:///OUT/gradebook.db), e.g. "
                             "postgresql://user@host/course")
    parser.add_argument("--timeout", type=float, default=defaults.seconds, metavar="SECONDS",
                        help="wall-clock budget per submission (default %(default)s)")
    parser.add_argument("--memory", type=int, default=defaults.memory_mb, metavar="MB",
                        help="address-space cap of a submission's process (default %(default)s)")
    parser.add_argument("--course", type=pathlib.Path, default=batch.ROOT, metavar="DIR",
                        help="course folder holding solutions/ (default: %(default)s)")
    parser.add_argument("--regrade", action="store_true",
                        help="grade everything again, even submissions unchanged since a "
                             "recorded run")
    return parser


def main(argv=None):
    parser = argparse.ArgumentParser(prog="onebyone", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _grade_parser(commands)
    args = parser.parse_args(argv)
    # nbgrader runs `alembic` by name when it creates a gradebook: it must be on PATH
    bin_dir = str(pathlib.Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    if args.jobs < 1 or args.timeout <= 0 or args.memory < 256:
        parser.error("--jobs must be at least 1, --timeout positive, --memory at least 256 MB")
    limits = sandbox.Limits(seconds=args.timeout, memory_mb=args.memory)
    try:
        return batch.grade(args.submissions, args.out, jobs=args.jobs,
                           assignment_ids=args.assignment, db_url=args.db_url, limits=limits,
                           course=args.course.resolve(), regrade=args.regrade)
    except submissions.BadSubmissions as error:
        print(f"onebyone grade: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
