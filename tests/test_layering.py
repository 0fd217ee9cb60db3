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


# --- type hints where modules meet --------------------------------------------------------------

HINTED = "onebyone.tools.grading"  # the grading package, its sandbox included


def _trees(package):
    return {module_name(path): ast.parse(path.read_text(encoding="utf-8"))
            for path in sorted(package.rglob("*.py"))}


def _defined(trees, module, name, seen=()):
    """(module, def or class node) where `name` of `module` is defined: in its body, through a
    re-export (`from .fence import problem`), or, for a package's lazy attribute (a module
    __getattr__), in the one of its modules that defines it."""
    body = {n.name: n for n in trees[module].body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    if name in body:
        return module, body[name]
    for node in trees[module].body:
        if isinstance(node, ast.ImportFrom) and node.module in trees:
            for alias in node.names:
                if (alias.asname or alias.name) == name and (module, name) not in seen:
                    return _defined(trees, node.module, alias.name, (*seen, (module, name)))
    inner = [m for m in trees if m.rpartition(".")[0] == module and m != module
             and any(getattr(n, "name", None) == name for n in trees[m].body)]
    return _defined(trees, inner[0], name, seen) if len(inner) == 1 else None


def crossing_definitions(package=None):
    """{(module, def or class node): the other modules that use it}: what a module imports from
    another (`from a import f`), or reaches through an imported module (`a.f`)."""
    package = package or PACKAGE
    trees = _trees(package)
    used = {}
    for name, tree in trees.items():
        modules = {}  # local name -> module of the package
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in trees:
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in trees:
                        modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    elif found := _defined(trees, node.module, alias.name):
                        used.setdefault((found[0], found[1]), set()).add(name)
            elif isinstance(node, ast.Import):
                modules.update({a.asname: a.name for a in node.names
                                if a.asname and a.name in trees})
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in modules:
                if found := _defined(trees, modules[node.value.id], node.attr):
                    used.setdefault((found[0], found[1]), set()).add(name)
    return {key: users - {key[0]} for key, users in used.items() if users - {key[0]}}


def unhinted(package=None):
    """`module.function: missing` for each function of the grading package another module
    uses (a class's __init__ and each public method another module names) that lacks a
    parameter's or the return's annotation."""
    trees = _trees(package or PACKAGE)
    bad = []
    for (module, node), users in sorted(crossing_definitions(package).items(),
                                        key=lambda item: (item[0][0], item[0][1].name)):
        if not module.startswith(HINTED):
            continue
        functions = [node]
        if isinstance(node, ast.ClassDef):
            named = {n.attr for user in users for n in ast.walk(trees[user])
                     if isinstance(n, ast.Attribute)}
            functions = [n for n in node.body if isinstance(n, (ast.FunctionDef,
                                                                ast.AsyncFunctionDef))
                         and (n.name == "__init__"
                              or (n.name in named and not n.name.startswith("_")))]
        for function in functions:
            args = function.args
            missing = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                                       *filter(None, [args.vararg, args.kwarg])]
                       if a.annotation is None and a.arg not in ("self", "cls")]
            if function.returns is None and function.name != "__init__":
                missing.append("return")
            if missing:
                where = node.name + ("" if function is node else f".{function.name}")
                bad.append(f"{module}.{where}: {', '.join(missing)}")
    return bad


def test_every_function_that_crosses_a_module_of_the_grader_has_type_hints():
    assert len(crossing_definitions()) > 50  # the walk found the grader's seams
    assert unhinted() == []


def test_the_hint_walk_finds_a_function_another_module_uses(tmp_path, monkeypatch):
    """The walk itself can fail: an unhinted function used through an import, a re-export and
    a module attribute, and a method another module calls; nothing used only at home."""
    fake = tmp_path / "onebyone"
    grading = fake / "tools" / "grading"
    (grading / "sandbox").mkdir(parents=True)
    for name in ("__init__.py", "tools/__init__.py", "tools/grading/__init__.py"):
        (fake / name).write_text("")
    (grading / "sandbox" / "__init__.py").write_text(
        "from onebyone.tools.grading.sandbox.fence import probe\n")
    (grading / "sandbox" / "fence.py").write_text(
        "def probe(x):\n    pass\n\n\ndef home(y):\n    return probe(y)\n")
    (grading / "engine.py").write_text(
        "class Pool:\n    def __init__(self, jobs): pass\n"
        "    def grade(self, job): pass\n    def unused(self, z): pass\n\n\n"
        "def hinted(a: int) -> int:\n    return a\n")
    (grading / "batch.py").write_text(
        "from onebyone.tools.grading import engine, sandbox\n"
        "from onebyone.tools.grading.engine import hinted\n"
        "sandbox.probe(1)\nengine.Pool(2).grade(hinted(3))\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert unhinted(fake) == ["onebyone.tools.grading.engine.Pool.__init__: jobs",
                              "onebyone.tools.grading.engine.Pool.grade: job, return",
                              "onebyone.tools.grading.sandbox.fence.probe: x, return"]
