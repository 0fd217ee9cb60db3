"""The package's layers: tools -> checks -> course library, and no import the other way.

Read two ways: every import statement in the source (module level or inside a function, so a
lazy import cannot hide), and what a fresh Python process has loaded after importing each checks
module (what a student's kernel gets).
"""

import ast
import json
import pathlib
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "onebyone"
LAYERS = {"library": 0, "checks": 1, "tools": 2}


def layer_of(module):
    """The layer of a module of the package, from its dotted name."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("checks", "tools"):
        return parts[1]
    return "library"


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path):
    """(line, dotted name) of every import of the package in a module, at any depth."""
    name = module_name(path)
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = here.split(".")[: len(here.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return [(line, dotted) for line, dotted in found if dotted.split(".")[0] == "onebyone"]


def upward_imports():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mine = layer_of(module_name(path))
        for line, dotted in imports_of(path):
            theirs = layer_of(dotted)
            if LAYERS[theirs] > LAYERS[mine]:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({mine}) imports "
                           f"{dotted} ({theirs})")
    return bad


def test_no_module_imports_a_higher_layer():
    assert upward_imports() == []


def test_the_layer_walk_sees_lazy_and_relative_imports(tmp_path, monkeypatch):
    """The walk itself can fail: a lazy import of a tool inside a check's function is caught."""
    fake = tmp_path / "onebyone"
    (fake / "checks").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "checks" / "__init__.py").write_text("")
    (fake / "checks" / "sneaky.py").write_text(
        "def f():\n    from ..tools.grading import remote\n    return remote\n")
    (fake / "layers.py").write_text("import onebyone.checks.sneaky\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    bad = upward_imports()
    assert len(bad) == 2 and "tools.grading" in bad[0] + bad[1] and "layers.py" in "".join(bad)


CHECK_MODULES = sorted(p.stem for p in (PACKAGE / "checks").glob("*.py")
                       if not p.stem.startswith("_"))


def test_the_checks_load_no_tool():
    """What an exercise's setup cell imports loads no grading, nbgrader or Sphinx module."""
    imports = "; ".join(f"import onebyone.checks.{name}" for name in CHECK_MODULES)
    code = f"import json, sys; {imports}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    loaded = json.loads(done.stdout)
    assert "onebyone.checks.core" in loaded
    tools = [m for m in loaded if m.startswith(("onebyone.tools", "nbgrader", "sphinx",
                                                "jupyter_book", "nbformat"))]
    assert tools == []


def import_graph(package=None):
    """{module: {modules of the package it imports}}, each import resolved to the longest name
    that is a module (`from onebyone.tools.grading import sandbox` is the sandbox package)."""
    package = package or PACKAGE
    modules = {module_name(path): path for path in sorted(package.rglob("*.py"))}
    graph = {}
    for name, path in modules.items():
        graph[name] = set()
        for _, dotted in imports_of(path):
            parts = dotted.split(".")
            target = next((".".join(parts[:i]) for i in range(len(parts), 0, -1)
                           if ".".join(parts[:i]) in modules), None)
            if target and target != name:
                graph[name].add(target)
    return graph


def cycles(graph):
    """The import circles of `graph`: its strongly connected components of more than one
    module (Tarjan's algorithm), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles():
    """No module imports, at any depth (lazy imports too), one that imports it back."""
    assert cycles(import_graph()) == []


def test_the_circle_finder_finds_a_lazy_circle(tmp_path, monkeypatch):
    fake = tmp_path / "onebyone"
    (fake / "tools").mkdir(parents=True)
    for name in ("__init__.py", "tools/__init__.py", "tools/plain.py"):
        (fake / name).write_text("")
    (fake / "tools" / "pool.py").write_text("from onebyone.tools import zygote\n")
    (fake / "tools" / "zygote.py").write_text(
        "def warm():\n    from onebyone.tools.pool import SAFE\n    return SAFE\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert cycles(import_graph(fake)) == [["onebyone.tools.pool", "onebyone.tools.zygote"]]
