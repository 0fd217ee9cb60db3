"""The fence, tried as an attacker would, as root and as an ordinary user who owns the course.

A thief's solution cell looks for the instructor's solution by one route (its own memory, other
processes through /proc, the disk, the environment, signals and ptrace; see grading_samples) and
uses it if found. Each thief must score no more than the control: the same wrong code without
the attempt. That the routes work where the secret is reachable is shown too (a process holding
a source notebook; a run with --no-fence), so these tests can fail.
"""

import contextlib
import json
import os
import pathlib
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import uuid

import grading_samples as samples
import pytest

from onebyone.tools import cli, environment, local_dask
from onebyone.tools.grading.sandbox import fence

A = samples.ASSIGNMENT
ROUTES = sorted(samples.THIEF_ROUTES)
USER = "onebyone-instructor"  # the ordinary user the tests create (as root) to grade as
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # useradd and runuser live in sbin
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="creates a user and runs as it")


def write_thieves(folder, course, routes=ROUTES):
    """The control and one thief per route, in nbgrader's submitted layout."""
    students = {"control": samples.dumps(samples.thief_notebook(None, course))}
    students.update({f"thief_{route}": samples.dumps(samples.thief_notebook(route, course))
                     for route in routes})
    samples.write_class(folder, A, students)


def item_scores(out):
    scores = {}
    for row in samples.read_csv(out / "items.csv"):
        scores.setdefault(row["student_id"], {})[row["grade_id"]] = float(row["score"])
    return scores


def assert_no_theft(out):
    scores = item_scores(out)
    control = scores["control"]
    assert all(control[t] == 0 for t in samples.STOLEN_TESTS)  # the control's item is wrong
    for route in ROUTES:
        thief = scores[f"thief_{route}"]
        assert thief.keys() == control.keys()
        for grade_id, score in thief.items():
            assert score <= control[grade_id], (route, grade_id, score, control[grade_id])


@contextlib.contextmanager
def other_clones(*homes):
    """Copies of the course's solutions elsewhere on disk: /srv and the given home folders, as an
    instructor's machine has them (another checkout), removed afterwards."""
    made = []
    try:
        for base in (pathlib.Path("/srv"), *homes):
            clone = base / f"onebyone-clone-{uuid.uuid4().hex[:8]}"
            shutil.copytree(samples.ROOT / "solutions" / A, clone / "solutions" / A)
            made.append(clone)
        yield made
    finally:
        for clone in made:
            shutil.rmtree(clone, ignore_errors=True)


def test_the_thieves_find_the_solution_where_it_is_reachable():
    """A process that holds a source notebook (as the grading worker does) gives it away to the
    memory and /proc routes: what the fence must keep out of every student process. Run in a
    fresh process, as a worker is: this test process holds other tests' solution texts too."""
    script = f"""
import sys
sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})
import numpy as np
import grading_samples as samples
from onebyone.tools.grading import course
held = course.Source(samples.ROOT / "solutions" / {A!r} / "{A}.ipynb")
x, weight, bias = np.ones((1, 2, 1, 1)), np.ones((3, 2)), np.ones(3)
for route in ("memory", "proc"):
    space = {{"np": np}}
    exec(samples.thief(route), space)
    assert space["_stolen"], route
    if route == "memory":  # this process's own memory holds only the one source
        print(route, space[samples.STOLEN_ITEM](x, weight, bias).ravel().tolist())
    else:
        print(route, "found")
"""
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr
    # The instructor's conv1x1 adds the bias; the thieves' own wrong one does not. The /proc
    # route also reads every other process it may (the test runner's solution texts among them),
    # so only its find is asserted; its pick may be another assignment's cell.
    memory, proc = ran.stdout.split("\n")[:2]
    assert memory == "memory [3.0, 3.0, 3.0]" and proc == "proc found"


@pytest.fixture(scope="module")
def thief_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("fence")
    course = samples.copy_course(base / "course", [A])
    write_thieves(base / "submitted", course)
    return base, course


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_no_thief_scores_more_than_its_control(thief_class, jobs):
    base, course = thief_class
    out = base / f"out-{jobs}"
    with other_clones():
        cli.main(["grade", str(base / "submitted"), "--out", str(out), "--jobs", jobs,
                  "--course", str(course)])
    assert_no_theft(out)


def test_no_thief_scores_more_than_its_control_on_a_dask_worker(thief_class):
    base, course = thief_class
    out = base / "out-dask"
    with other_clones(), local_dask.LocalCluster(base / "dask", workers=1) as dask:
        cli.main(["grade", str(base / "submitted"), "--out", str(out), "--course", str(course),
                  "--scheduler", dask.address])
    assert_no_theft(out)


def test_without_the_fence_the_disk_thief_succeeds(thief_class, capsys):
    """--no-fence says so, and shows the disk route is real: the course is readable."""
    base, course = thief_class
    folder, out = base / "unfenced", base / "out-unfenced"
    write_thieves(folder, course, routes=["disk"])
    with other_clones():
        cli.main(["grade", str(folder), "--out", str(out), "--jobs", "1", "--course",
                  str(course), "--no-fence"])
    assert "--no-fence: student code ran unfenced" in capsys.readouterr().err
    thief = item_scores(out)["thief_disk"]
    assert all(thief[t] > 0 for t in samples.STOLEN_TESTS)


# --- as an ordinary user --------------------------------------------------------------------


@contextlib.contextmanager
def reachable(paths):
    """Let other users pass through the folders above `paths` (this machine's Python may live
    in /root, mode 700), as it is for an ordinary user's own Python; restored afterwards."""
    changed = []
    try:
        for path in paths:
            for folder in pathlib.Path(path).resolve().parents:
                mode = folder.stat().st_mode
                if not mode & stat.S_IXOTH:
                    os.chmod(folder, mode | stat.S_IXOTH)
                    changed.append((folder, mode))
        yield
    finally:
        for folder, mode in reversed(changed):
            os.chmod(folder, mode)


@pytest.fixture(scope="module")
def instructor():
    """An ordinary user with a home folder (created once; kept, as `useradd` made it)."""
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run([shutil.which("useradd", path=SYSTEM_PATH), "--create-home", "--shell",
                        "/bin/sh", USER], check=True)
    entry = pwd.getpwnam(USER)
    with reachable([sys.executable, os.path.realpath(sys.executable), fence.PACKAGE_DIR]):
        yield entry


def as_user(entry, *command, cwd):
    env = {"PATH": f"{environment.env_bin()}:/usr/bin:/bin", "HOME": entry.pw_dir,
           "LANG": "C.UTF-8", "USER": USER}
    runuser = shutil.which("runuser", path=SYSTEM_PATH)
    return subprocess.run([runuser, "-u", USER, "--", *map(str, command)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@ROOT_ONLY
def test_an_ordinary_user_grades_fenced_and_no_thief_gains(instructor, tmp_path):
    home = pathlib.Path(instructor.pw_dir)
    work = home / f"grading-{uuid.uuid4().hex[:8]}"
    try:
        course = samples.copy_course(work / "course", [A])
        write_thieves(work / "submitted", course)
        subprocess.run(["chown", "-R", f"{USER}:", str(work)], check=True)
        with other_clones(home):
            done = as_user(instructor, environment.env_bin() / "onebyone", "grade",
                           work / "submitted", "--out", work / "out", "--jobs", "2",
                           "--course", course, cwd=work)
        assert done.returncode in (0, 1), done.stderr
        assert "--no-fence" not in done.stderr
        assert_no_theft(work / "out")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def probe(runner):
    """What a fenced student process sees (tests/fence_probe.py), started by `runner`."""
    listener = socket.create_server(("127.0.0.1", 0))  # a port the student must not reach
    with listener:
        skip = ["/usr", *fence.python_folders()]
        done = runner([sys.executable, pathlib.Path(__file__).parent / "fence_probe.py",
                       str(listener.getsockname()[1]), *skip])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_only_the_allow_list(seen):
    allowed = ("/usr/", "/etc/", "/dev/", "/tmp/work/", f"{fence.PACKAGE_DIR}/")
    assert [f for f in seen["files"] if not f.startswith(allowed)] == []
    assert seen["proc"] == [] and seen["pid"] == 1 and seen["ppid"] == 0
    assert seen["writable"] == []
    assert seen["signal"] == "ESRCH"  # no other process to signal
    assert seen["interfaces"] == ["lo"] and seen["network"] == "ECONNREFUSED"
    assert seen["cwd"] == "/tmp/work"
    assert set(seen["environment"]) == set(fence.ENVIRONMENT) | {"TMPDIR"}
    top = {f.split("/")[1] for f in seen["folders"] if f != "/"}
    assert not top & {"home", "srv", "opt", "mnt", "var"}, top


def test_a_student_process_sees_only_the_allow_list():
    seen = probe(lambda command: subprocess.run(command, capture_output=True, text=True,
                                                cwd="/", timeout=300))
    assert_only_the_allow_list(seen)
    if os.geteuid() == 0:  # root's fence runs as an unused uid of its own (RLIMIT_NPROC holds)
        assert seen["uid"] >= fence.FIRST_UID


@ROOT_ONLY
def test_a_student_process_of_an_ordinary_user_sees_only_the_allow_list(instructor):
    seen = probe(lambda command: as_user(instructor, *command, cwd="/"))
    assert_only_the_allow_list(seen)
    assert seen["uid"] == instructor.pw_uid


def test_where_the_kernel_refuses_user_namespaces_the_run_stops_in_one_line(tmp_path):
    """In a user namespace whose limit of nested user namespaces is 0 (the kernel's own refusal,
    as on a machine with user.max_user_namespaces=0), grading stops before it starts, in one
    line that says how to enable the fence; --no-fence grades, and the summary says so."""
    samples.write_class(tmp_path / "submitted", A, {"ann": samples.dumps(samples.honest(A))})
    unshare = shutil.which("unshare", path=SYSTEM_PATH)
    script = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"'

    def grade(*options):
        command = [unshare, "--user", "--map-root-user", "sh", "-c", script, "sh",
                   environment.env_bin() / "onebyone", "grade", tmp_path / "submitted",
                   "--out", tmp_path / "out", "--jobs", "1", *options]
        return subprocess.run(list(map(str, command)), capture_output=True, text=True,
                              env=environment.with_env_bin(), timeout=600)

    refused = grade()
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot fence student code in" in lines[0], lines
    assert "user namespaces" in lines[0] and "--no-fence" in lines[0]
    assert not (tmp_path / "out" / "journal.jsonl").exists()  # nothing was graded
    accepted = grade("--no-fence")
    assert accepted.returncode == 0, accepted.stderr
    assert "--no-fence: student code ran unfenced" in accepted.stderr


def test_a_fork_bomb_stops_at_the_process_limit_and_the_rest_is_graded(tmp_path):
    """Forked processes count against RLIMIT_NPROC (root's fence runs as a uid of its own, so the
    limit holds there too); what the cell started ends with its process."""
    bomb = ("import os, time\nmade = 0\nfor _ in range(400):\n    if os.fork() == 0:\n"
            "        time.sleep(120)\n        os._exit(0)\n    made += 1")
    notebook = samples.add_after(samples.honest(A), "setup", bomb)
    samples.write_class(tmp_path / "submitted", A, {"bomber": samples.dumps(notebook)})
    cli.main(["grade", str(tmp_path / "submitted"), "--out", str(tmp_path / "out"),
              "--jobs", "1"])
    row = samples.read_csv(tmp_path / "out" / "grades.csv")[0]
    assert float(row["score"]) == float(row["max_score"]), row
    assert "BlockingIOError" in row["note"], row
