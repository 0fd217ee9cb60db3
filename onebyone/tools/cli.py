"""The course's one command line: `onebyone book | translations | exercises | bench | grade`.

Each subcommand is a thin door to a tool; the Makefile calls these. Errors a user can fix are
one line on stderr and exit code 2; a failed build or release exits 1; `onebyone grade`'s codes
are GRADE_EXIT_CODES.
"""

import argparse
import gc
import os
import pathlib
import sys
import textwrap
import traceback

from onebyone.tools import environment


def _book(args):
    from onebyone.tools import book

    done = book.build(args.folder)
    if done.returncode != 0:
        print("\nThe book build failed: see the warnings and errors above.", file=sys.stderr)
        return 1
    print(f"Built. Open {args.folder / '_build' / 'html' / 'index.html'}, or run: make serve")
    return 0


def _translations(args):
    from onebyone.tools import translation

    for step in (translation.extract, translation.update_catalogues):
        if step(args.folder).returncode != 0:
            print("\nonebyone translations: the extraction failed: see the errors above.",
                  file=sys.stderr)
            return 1
    print()
    incomplete = 0
    for docname, path in translation.catalogues(args.folder).items():
        state = translation.catalogue_state(path)
        incomplete += not state.complete
        print(f"{docname:55} {state.total:4} entries, {len(state.untranslated):4} untranslated, "
              f"{len(state.fuzzy):4} fuzzy")
    from onebyone.tools import check_messages  # the checks' messages, for the notebooks

    for path in [path for domain in check_messages.DOMAINS
                 for path in check_messages.update(args.folder / "onebyone", domain=domain)]:
        state = translation.catalogue_state(path)
        incomplete += not state.complete
        print(f"{str(path.relative_to(args.folder)):55} {state.total:4} entries, "
              f"{len(state.untranslated):4} untranslated, {len(state.fuzzy):4} fuzzy")
    print(f"\n{incomplete} catalogue(s) to finish in {translation.catalogue_folder(args.folder)}"
          " or onebyone/checks/locale, onebyone/tools/grading/locale" if incomplete
          else "\nEvery catalogue is complete.")
    return 0


def _exercises(args):
    from onebyone.tools import release

    known = release.assignments(args.course)
    unknown = sorted(set(args.ids) - set(known))
    if unknown:
        return _fail(f"unknown assignment(s): {', '.join(unknown)}; known: {', '.join(known)}")
    try:
        release.release(args.ids or known, args.course)
    except release.ReleaseFailed as error:
        print(f"onebyone exercises: {error}", file=sys.stderr)
        return 1
    return 0


def _bench(args):
    from onebyone.tools import bench

    unknown = sorted(set(args.names) - set(bench.names()))
    if unknown:
        return _fail(f"unknown benchmark(s): {', '.join(unknown)}; "
                     f"known: {', '.join(bench.names())}")
    bench.run_all(args.names)
    return 0


MIN_TIMEOUT = 5.0  # seconds: below this, importing torch alone can time a notebook out


def _bad_grade_options(args) -> list[str]:
    """Each of `onebyone grade`'s options that is out of range, named on its own."""
    wrong = []
    if args.jobs < 1:
        wrong.append(f"--jobs must be at least 1 (got {args.jobs})")
    if not args.timeout >= MIN_TIMEOUT:  # `not >=`: a NaN is refused too
        wrong.append(f"--timeout must be at least {MIN_TIMEOUT:g} seconds (got {args.timeout:g}):"
                     " a notebook's imports alone take a few seconds")
    if args.item_timeout is not None and not 0 < args.item_timeout <= args.timeout:
        wrong.append(f"--item-timeout must be positive and at most --timeout (got "
                     f"{args.item_timeout:g})")
    if args.memory < 256:
        wrong.append(f"--memory must be at least 256 MB (got {args.memory})")
    return wrong


# `onebyone grade`'s exit codes, the one place they are written (its --help shows them; the
# Makefile's `make grade` reads its code's line there; bin/grade passes the code through)
GRADE_EXIT_CODES = {
    0: "every submission was graded normally",
    1: "graded, but some submissions were not graded normally (status timed out, memory "
       "limit, invalid notebook, missing notebook, ...): the summary lists them, and each has "
       "its row in grades.csv",
    2: "a usage or setup error, told in one line: a wrong option, input that cannot be read or "
       "matches nothing, an unknown assignment, a roster, gradebook, cluster or fence that "
       "cannot be used; the run stops before grading (a gradebook lost mid-run: what was "
       "recorded is kept)",
    3: "the grader itself failed (a bug: its traceback is shown); what was recorded is kept",
    130: "interrupted (Ctrl-C); what was recorded is kept: run the same command again to "
         "grade the rest",
}
GRADER_FAILED = 3


def _exit_codes_epilog() -> str:
    lines = ["exit codes:"]
    for code, meaning in GRADE_EXIT_CODES.items():
        wrapped = textwrap.wrap(meaning, 72)
        lines.append(f"  {code:<4} {wrapped[0]}")
        lines.extend(f"       {more}" for more in wrapped[1:])
    return "\n".join(lines)


def _grade(args: argparse.Namespace) -> int:
    from onebyone.tools.grading import batch, sandbox, submissions

    if wrong := _bad_grade_options(args):
        args.parser.error("; ".join(wrong))
    limits = sandbox.Limits(seconds=args.timeout, item_seconds=args.item_timeout,
                            memory_mb=args.memory, fence=not args.no_fence)
    try:
        return batch.grade(args.submissions, args.out, jobs=args.jobs,
                           assignment_ids=args.assignment, db_url=args.db_url, limits=limits,
                           course=args.course.resolve(), regrade=args.regrade,
                           scheduler=args.scheduler, roster=args.roster)
    except (submissions.BadSubmissions, batch.CannotGrade) as error:
        return _fail(f"grade: {error}")
    except KeyboardInterrupt:  # Ctrl-C: a result not in the journal yet is graded again
        print(f"\nonebyone grade: interrupted. The results recorded so far are kept (in "
              f"{args.out / 'journal.jsonl'} and the gradebook): run the same command again "
              "to grade the rest.", file=sys.stderr)
        return 130
    except Exception:  # a bug of ours: Python's own exit code (1) would read "graded, some not"
        traceback.print_exc()
        print(f"onebyone grade: the grader itself failed (the traceback above; exit code "
              f"{GRADER_FAILED}). The results recorded so far are kept (in "
              f"{args.out / 'journal.jsonl'} and the gradebook).", file=sys.stderr)
        return GRADER_FAILED


def _fail(message):
    print(f"onebyone {message}", file=sys.stderr)
    return 2


def _parser():
    from onebyone.tools.grading.sandbox import Limits

    course, limits = environment.course_root(), Limits()
    parser = argparse.ArgumentParser(prog="onebyone", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    book = commands.add_parser("book", help="build the website strictly into FOLDER/_build/html")
    book.add_argument("folder", nargs="?", type=pathlib.Path, default=course, metavar="FOLDER",
                      help="the book's folder (default: %(default)s)")
    book.set_defaults(run=_book)

    translations = commands.add_parser(
        "translations", help="update the Chinese catalogues (locale/zh_CN) from the English pages",
        description="Extract every page's messages (Sphinx's gettext builder, into "
                    "_build/gettext), merge them into locale/zh_CN/LC_MESSAGES/*.po with "
                    "sphinx-intl (a changed English paragraph becomes fuzzy), and list what is "
                    "left to translate.")
    translations.add_argument("folder", nargs="?", type=pathlib.Path, default=course,
                              metavar="FOLDER", help="the book's folder (default: %(default)s)")
    translations.set_defaults(run=_translations)

    exercises = commands.add_parser("exercises", help="regenerate exercises/ from solutions/")
    exercises.add_argument("ids", nargs="*", metavar="ID", help="only these assignments")
    exercises.add_argument("--course", type=pathlib.Path, default=course, metavar="DIR",
                           help="course folder (default: %(default)s)")
    exercises.set_defaults(run=_exercises)

    bench = commands.add_parser("bench", help="measure speed (medians of several runs)")
    bench.add_argument("names", nargs="*", metavar="NAME", help="only these benchmarks")
    bench.set_defaults(run=_bench)

    grade = commands.add_parser(
        "grade", help="grade a class's submissions",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_exit_codes_epilog(),
        description=textwrap.fill(
                    "Grade the submissions in SUBMISSIONS, a folder or a .zip: nbgrader's "
                    "<student>/<assignment>/<assignment>.ipynb, a Canvas download "
                    "(login_userid_submissionid_name) or a Moodle download (Full Name_id_"
                    "assignsubmission_file_/); name the assignment of a platform's download "
                    "with --assignment. Writes OUT/grades.csv, OUT/items.csv, OUT/report.html "
                    "(the class report), OUT/feedback/, with --roster the platforms' grade "
                    "files, and the course's gradebook; a second run only grades what changed. "
                    "bin/grade runs this command from anywhere, with the same exit codes.", 80))
    grade.add_argument("submissions", type=pathlib.Path, metavar="SUBMISSIONS")
    grade.add_argument("--out", type=pathlib.Path, required=True, metavar="OUT",
                       help="output folder (tables, feedback pages, report, journal)")
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                       help="submissions graded side by side (default: the number of cores, "
                            "%(default)s here)")
    grade.add_argument("--assignment", action="append", metavar="ID",
                       help="grade only this assignment (repeat for several); names the "
                            "assignment of a Canvas or Moodle download")
    grade.add_argument("--roster", type=pathlib.Path, metavar="CSV",
                       help="the class list, nbgrader's student CSV (id,first_name,last_name,"
                            "email) with the platform's user id in an lms_id column: every "
                            "student gets a row, imported into the gradebook")
    grade.add_argument("--db-url", metavar="URL",
                       help="gradebook database (default: the one nbgrader's commands read in "
                            "the course folder, its nbgrader_config.py's db_url), e.g. "
                            "postgresql://user@host/course")
    grade.add_argument("--timeout", type=float, default=limits.seconds, metavar="SECONDS",
                       help="wall-clock budget per submission (default %(default)s)")
    grade.add_argument("--item-timeout", type=float, default=None, metavar="SECONDS",
                       help="each test cell's own budget, within --timeout: a test that runs "
                            "out of it scores zero and the rest is graded as usual (default: "
                            "--timeout divided by the assignment's number of test cells)")
    grade.add_argument("--memory", type=int, default=limits.memory_mb, metavar="MB",
                       help="address-space cap of a submission's process (default %(default)s)")
    grade.add_argument("--course", type=pathlib.Path, default=course, metavar="DIR",
                       help="course folder holding solutions/ (default: %(default)s)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the workers of this Dask cluster instead of --jobs local "
                            "workers: the scheduler's address (tcp://host:8786) or the JSON "
                            "file of `dask scheduler --scheduler-file`")
    grade.add_argument("--no-fence", action="store_true",
                       help="grade even where student code cannot be fenced in (no bubblewrap, "
                            "or the kernel refuses user namespaces): student code then runs as "
                            "you and can read what you can, solutions included")
    grade.add_argument("--regrade", action="store_true",
                       help="grade everything again, even submissions unchanged since a "
                            "recorded run")
    grade.set_defaults(run=_grade, parser=grade)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    environment.put_env_bin_on_path()  # nbgrader, jupyter-book and alembic run by name
    try:
        return args.run(args)
    finally:
        # Everything is written and closed by now. Python's exit would still walk the hundreds
        # of thousands of objects the imports made (nbgrader, SQLAlchemy, matplotlib) with the
        # garbage collector: measured 0.15-0.3 s of a grading run's fixed cost. Frozen objects
        # are skipped; atexit handlers and finalizers still run.
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
