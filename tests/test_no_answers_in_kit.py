"""The student kit holds no answer: installed from its wheel into a fresh venv, it has no tools and
no `onebyone` command, and no function or class in it earns a graded item's points.

The wheel is the one the site offers (kit.build_wheel, which `make book` publishes). The fresh
venv reaches the course environment's numpy and torch through a .pth file, and the kit is
installed into it with `pip install --no-deps`: nothing is downloaded. Then every function and
class the installed kit defines is pasted into the notebook in place of each graded item
(renamed to the item's name, with the helpers of its own module that it uses), and the item's
public and hidden tests run on it, as nbgrader would run them: it must not earn the item's points.
"""

import json
import subprocess
import sys
import sysconfig

import nbformat
import pytest
from books import ROOT

from onebyone.tools import kit
from onebyone.tools.release import assignments

V3 = [a for a in assignments(ROOT) if (ROOT / "onebyone/checks/data" / f"{a}.npz").exists()
      and "answers.live" in (ROOT / "solutions" / a / f"{a}.ipynb").read_text()]

# Run inside the fresh venv: every function and class the installed kit defines, with the source
# of the helpers (functions, classes, constants of the same module) it names.
DUMP = r'''
import importlib, inspect, json, pkgutil, sys
import onebyone
found = {}
for info in pkgutil.walk_packages(onebyone.__path__, "onebyone."):
    module = importlib.import_module(info.name)
    local = {name: value for name, value in vars(module).items()
             if getattr(value, "__module__", None) == module.__name__
             and (inspect.isfunction(value) or inspect.isclass(value))}
    for name, value in local.items():
        try:
            source = inspect.getsource(value)
        except (OSError, TypeError):
            continue
        found[f"{module.__name__}.{name}"] = {"name": name, "module": module.__name__,
                                              "source": source}
json.dump({"members": found, "file": onebyone.__file__,
           "tools": importlib.util.find_spec("onebyone.tools") is not None}, sys.stdout)
'''


@pytest.fixture(scope="module")
def fresh_kit(tmp_path_factory):
    """(python of a fresh venv with the kit's wheel installed, the wheel's file names)."""
    home = tmp_path_factory.mktemp("fresh-kit")
    wheel = kit.build_wheel(ROOT, home / "site-kit")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home / "venv")],
                   check=True)
    python = home / "venv" / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # numpy and torch from the course environment, without its editable `onebyone`
    (home / "venv" / purelib.split("/venv/", 1)[1] / "course-packages.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--quiet", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    import zipfile
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    return python, names


@pytest.fixture(scope="module")
def kit_members(fresh_kit):
    python, _ = fresh_kit
    done = subprocess.run([str(python), "-c", DUMP], capture_output=True, text=True,
                          cwd=python.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_the_kit_has_no_tools_and_no_command(fresh_kit, kit_members):
    python, names = fresh_kit
    assert kit_members["tools"] is False
    assert "site-packages" in kit_members["file"], kit_members["file"]
    assert str(ROOT) not in kit_members["file"]
    assert not [n for n in names if n.startswith("onebyone/tools")]
    assert not [n for n in names if n.endswith("entry_points.txt")], "the kit installs a command"
    assert not (python.parent / "onebyone").exists()
    assert [n for n in names if n.startswith("onebyone/checks/data/") and n.endswith(".npz")]


def _item_cells(assignment):
    """(setup code, {item: solution code}, {item: [(points, test code)]}) of the source."""
    cells = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4).cells
    setup, solutions, tests = "", {}, {}
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("grade_id") == "setup":
            setup = cell.source
        elif meta.get("solution"):
            solutions[meta["grade_id"]] = cell.source
        elif meta.get("grade"):
            item = meta["grade_id"].removeprefix("test_").rsplit("_", 1)[0]
            tests.setdefault(item, []).append((meta["points"], cell.source))
    return setup, solutions, tests


def _helpers(member, members):
    """The member's source, preceded by the sources of the same module's members it names."""
    import re
    same = {m["name"]: m for m in members.values() if m["module"] == member["module"]}
    chosen, todo = [], [member["name"]]
    while todo:
        name = todo.pop()
        if name in chosen:
            continue
        chosen.append(name)
        todo += [other for other in same if other not in chosen
                 and re.search(rf"\b{re.escape(other)}\b", same[name]["source"])]
    return "\n\n".join(same[name]["source"] for name in reversed(chosen))


def earned(setup, solutions, tests, item, pasted):
    """Points the item's test cells give when the item's cell holds `pasted`."""
    namespace = {"__name__": "__main__"}
    exec(compile(setup, "setup", "exec"), namespace)
    for other, code in solutions.items():
        exec(compile(pasted if other == item else code, other, "exec"), namespace)
    points = 0
    for value, code in tests[item]:
        try:
            import contextlib
            import io
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, f"test_{item}", "exec"), dict(namespace))
            points += value
        except Exception:  # the item's test failed: no points for this cell
            pass
    return points


@pytest.mark.parametrize("assignment", V3)
def test_no_function_or_class_of_the_kit_earns_an_items_points(assignment, kit_members):
    setup, solutions, tests = _item_cells(assignment)
    members = kit_members["members"]
    assert len(members) > 50, "the kit's members were not found"
    for item in tests:
        full = sum(points for points, _ in tests[item])
        assert earned(setup, solutions, tests, item, solutions[item]) == full
        earning = {}
        for qualname, member in members.items():
            pasted = _helpers(member, members) + f"\n\n{item} = {member['name']}\n"
            try:
                got = earned(setup, solutions, tests, item, pasted)
            except Exception:  # the pasted code does not even run: it earns nothing
                continue
            if got:
                earning[qualname] = got
        winners = {q: p for q, p in earning.items() if p >= full}
        assert not winners, f"{assignment}/{item}: the kit's {winners} earn full marks"
        assert not earning, f"{assignment}/{item}: the kit's members earn points: {earning}"
