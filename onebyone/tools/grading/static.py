"""The grader's own reading of the student's source: does a function reach torch (NumPy-only
items) or the course's reference package `onebyone`?

This is the trusted half of `call_learner`'s rule. The student process runs the real
`call_learner` too (static and runtime watch), but its report could be forged by student code;
this check reads the cells' text from the notebook in the grader, so it cannot be.
It resolves names the way the cells bind them: `import torch as t`, `from onebyone import layers`,
`e = torch.einsum`, and follows calls into the student's other functions.
"""

import ast

from onebyone.checks import rules
from onebyone.checks.core import CheckFailure
from onebyone.tools import names

IMPORTERS = {"__import__", "import_module"}


def _root(node):
    """The leftmost name of a plain reference `a.b.c` (or None: a call's result is a value,
    like an array made with the course's data helpers, not an alias of a package)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _local_names(node: ast.AST) -> set[str]:
    """Parameters and names assigned inside a function (they shadow the cells' globals)."""
    found = names.walk(node)
    local = set(found.parameters | found.stored)
    if isinstance(node, ast.ClassDef):
        local.discard(node.name)
    return local


class StudentSource:
    """What the cells run in the student process define: module aliases and functions."""

    def __init__(self, cells: list[str]):
        self.origins = {}  # name -> top-level package it is bound to
        self.functions = {}  # name -> FunctionDef / Lambda (the last definition wins)
        for code in cells:
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue  # a cell that does not parse defines nothing
            for node in tree.body:
                self._bind(node)

    def _bind(self, node):
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.origins[(alias.asname or alias.name).split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                self.origins[alias.asname or alias.name] = node.module.split(".")[0]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.functions[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name) or node.value is None:
                    continue
                if isinstance(node.value, ast.Lambda):
                    self.functions[target.id] = node.value
                root = _root(node.value)
                if root in self.origins:
                    self.origins[target.id] = self.origins[root]
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    self._bind(child)

    def forbidden(self, name, numpy_only, _seen=None):
        """Names in function `name` (and the student's helpers it uses) that reach a package
        this item forbids."""
        seen = _seen if _seen is not None else set()
        node = self.functions.get(name)
        if node is None or name in seen:
            return set()
        seen.add(name)
        banned = rules.forbidden_packages(numpy_only)
        found = set()
        local = _local_names(node)
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name):
                if inner.id in local:
                    continue  # a parameter or local variable that happens to share a name
                if self.origins.get(inner.id) in banned:
                    found.add(f"{inner.id} (from {self.origins[inner.id]})")
                elif inner.id in self.functions and inner.id != name:
                    found |= self.forbidden(inner.id, numpy_only, seen)
            elif isinstance(inner, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in inner.names] if isinstance(inner, ast.Import) \
                    else [inner.module or ""]
                found |= {f"import {m}" for m in modules if m.split(".")[0] in banned}
            elif isinstance(inner, ast.Call) and inner.args:
                called = inner.func.attr if isinstance(inner.func, ast.Attribute) else \
                    getattr(inner.func, "id", None)
                first = inner.args[0]
                if called in IMPORTERS and isinstance(first, ast.Constant) \
                        and str(first.value).split(".")[0] in banned:
                    found.add(f"{called}({first.value!r})")
        return found

    def check(self, name: str, numpy_only: bool, item: str) -> None:
        """Raise the course's CheckFailure when `name` uses what the item forbids."""
        banned = sorted(self.forbidden(name, numpy_only))
        if banned:
            raise CheckFailure(rules.broken(item, ", ".join(banned), numpy_only))
