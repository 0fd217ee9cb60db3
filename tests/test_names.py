"""The one name walker (onebyone/tools/names.py), checked against Python's own symbol tables
(`symtable`, the compiler's view of every scope) on real code: the package's modules and the
instructor's solution cells."""

import ast
import json
import pathlib
import symtable

from onebyone.tools import names

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _scopes(table):
    yield table
    for child in table.get_children():
        yield from _scopes(child)


def compiler_view(code):
    """(read, bound, imported) over every scope of `code`, as the compiler's symbol tables say."""
    read, bound, imported = set(), set(), set()
    for scope in _scopes(symtable.symtable(code, "<code>", "exec")):
        for symbol in scope.get_symbols():
            name = symbol.get_name()
            if name.startswith(".") or name == "__class__":
                continue  # the compiler's own: a comprehension's iterator, super()'s class cell
            if symbol.is_referenced():
                read.add(name)
            if symbol.is_assigned() or symbol.is_parameter() or symbol.is_imported():
                bound.add(name)
            if symbol.is_imported():
                imported.add(name)
    return read, bound, imported


def samples():
    """Real code: every module of the package, every code cell of the source notebooks."""
    found = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
             for p in sorted((ROOT / "onebyone").rglob("*.py"))}
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for number, cell in enumerate(cells):
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] == "code" and not text.lstrip().startswith(("%", "!")):
                found[f"{path.name} cell {number}"] = text
    return found


def test_the_walker_agrees_with_the_compiler_on_real_code():
    checked = 0
    for where, code in samples().items():
        found = names.walk(code)
        read, bound, imported = compiler_view(code)
        assert set(found.read) - {"__class__"} == read, where
        assert set(found.bound) - {"__class__"} == bound, where
        assert set(found.imported) == imported, where
        checked += 1
    assert checked > 100  # the package and the notebooks were read


def test_each_kind_of_name():
    code = """
import torch.nn as tnn, numpy
from ..grading import runner as r
from . import sibling
def f(a, *b, c=1, **d):
    global g
    for i, (j, k) in enumerate(b):
        del j
    try:
        pass
    except ValueError as error:
        self.conv = lambda q: q + a
    return [x for x in d if x]
class C: pass
"""
    found = names.walk(code)
    assert found.defined == {"f", "C"}
    assert found.parameters == {"a", "b", "c", "d", "q"}
    assert found.stored == {"i", "j", "k", "x"}
    assert found.imported == {"tnn", "numpy", "r", "sibling"}
    assert found.caught == {"error"}
    assert found.stored_attributes == {"conv"}
    assert found.read == {"enumerate", "b", "ValueError", "self", "q", "a", "d", "x"}
    assert found.imports == (names.Import(("torch.nn", "numpy")),
                             names.Import(("runner",), "grading", 2),
                             names.Import(("sibling",), None, 1))
    assert [i.plain for i in found.imports] == [True, False, False]


def test_a_function_node_gives_its_own_names_only():
    tree = ast.parse("y = 1\ndef f(a):\n    z = a + y\n")
    found = names.walk(tree.body[1])
    assert found.stored == {"z"} and found.parameters == {"a"} and found.read == {"a", "y"}
