"""Where the course folder is, and the environment's commands on PATH: each computed here only."""

import os
import pathlib
import sys

PACKAGE = pathlib.Path(__file__).resolve().parent.parent  # the `onebyone` package folder


def is_course_folder(path):
    """A folder holding a course: its book configuration and its nbgrader sources."""
    return (path / "_config.yml").is_file() and (path / "solutions").is_dir()


def source_checkout():
    """The course folder the package itself lives in (an editable install, as `make` makes),
    or None when the package was installed from a wheel."""
    return PACKAGE.parent if is_course_folder(PACKAGE.parent) else None


def course_root():
    """The course folder the tools work on by default: the checkout the package runs from,
    else the current folder (a tool that finds no course files there says so)."""
    return (source_checkout() or pathlib.Path.cwd()).resolve()


def env_bin():
    """The folder of the running Python's commands (nbgrader, alembic, jupyter-book)."""
    return pathlib.Path(sys.executable).parent


def with_env_bin(env=None):
    """A copy of `env` (default: os.environ) with the environment's commands first on PATH.

    nbgrader runs `alembic` by name when it creates a gradebook, and jupyter-book runs
    `jupyter`: both must find this environment's, not another on PATH."""
    env = dict(os.environ if env is None else env)
    env["PATH"] = f"{env_bin()}{os.pathsep}{env.get('PATH', '')}"
    return env


def put_env_bin_on_path():
    """The same, for this process and every process it starts."""
    os.environ["PATH"] = with_env_bin()["PATH"]
