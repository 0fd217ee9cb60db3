"""What a piece of Python source reads, binds and imports, from one walk of its syntax tree.

The one name walker of the tools (a leaf: it imports nothing of the package), for every reader
of source text: the grader binding a test cell's free names to the student's (grading/runner.py),
its static check of a student's function (grading/static.py), the course modules a source
notebook imports (grading/course.py), the book build's page dependencies (book.py), the
similarity index's renaming of bound names (term/similarity_index.py) and its benchmark's
disguised copies (bench/similarity.py). Each takes the kinds of name it needs.
"""

import ast
import dataclasses


@dataclasses.dataclass(frozen=True)
class Import:
    """One import statement: `import a.b, c` (module None, level 0: `names` are the modules),
    or `from ..m import x, y` (module "m", level 2; `from . import x`: module None, level 1)."""

    names: tuple[str, ...]
    module: str | None = None
    level: int = 0

    @property
    def plain(self) -> bool:
        """`import a.b` rather than `from ... import ...`."""
        return self.module is None and self.level == 0


@dataclasses.dataclass(frozen=True)
class Names:
    """The names in a tree, nested scopes included, by how they occur."""

    read: frozenset[str]  # loaded: `x` in `y = x + 1`
    stored: frozenset[str]  # assigned, loop, `with ... as`, deleted: `y` above
    defined: frozenset[str]  # def and class names (async def too)
    parameters: frozenset[str]  # every function's and lambda's arguments
    imported: frozenset[str]  # what an import binds: `import a.b` binds a; `import a as b`, b
    caught: frozenset[str]  # `except E as name`
    stored_attributes: frozenset[str]  # `self.conv = ...` stores conv
    imports: tuple[Import, ...]  # the import statements, in the walk's order

    @property
    def bound(self) -> frozenset[str]:
        """Every name the code binds, whichever way."""
        return self.stored | self.defined | self.parameters | self.imported | self.caught


def walk(code: str | ast.AST) -> Names:
    """The names of `code` (source text, or a tree or node of one: a function's names only).
    Raises SyntaxError (or ValueError: a null byte) when the text does not parse."""
    tree = ast.parse(code) if isinstance(code, str) else code
    found = {field.name: set() for field in dataclasses.fields(Names) if field.name != "imports"}
    imports = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found["read" if isinstance(node.ctx, ast.Load) else "stored"].add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found["defined"].add(node.name)
        elif isinstance(node, ast.arg):
            found["parameters"].add(node.arg)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            found["stored_attributes"].add(node.attr)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found["caught"].add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found["imported"] |= {(a.asname or a.name).split(".")[0] for a in node.names}
            module = node.module if isinstance(node, ast.ImportFrom) else None
            level = node.level if isinstance(node, ast.ImportFrom) else 0
            imports.append(Import(tuple(a.name for a in node.names), module, level or 0))
    return Names(**{kind: frozenset(value) for kind, value in found.items()},
                 imports=tuple(imports))
