"""Similar solutions at scale: the fingerprint index (tools/term/similarity_index.py) on one
solution cell for classes of 1,000, 4,000 and 16,000 submissions, and 50,000 projected from the
growth measured between the two largest.

The class: honest variants of the course's own solution cell (resnet-bottleneck's PreActBottleneck,
its 21 lines), each made by rewrites students make without copying (a docstring, keyword or
positional arguments, `x += y` or `x = x + y`, `F.relu` or `torch.relu`, a returned expression
named first, ...) and a line or two of their own, plus one planted copy of a wrong answer
(renamed, recommented). Times are medians of 3 runs (16,000: one run), CPU time and wall
clock; the growth between sizes is read from CPU time, within one bench run. The all-pairs
check it replaced (the former grading/similarity.py) compared N(N-1)/2 pairs: 15.6 µs each,
3 h 45 min for 50,000 on the grading bench.
"""

import ast
import io
import math
import random
import re
import time
import tokenize

import nbformat

from onebyone.tools import environment, names
from onebyone.tools.term import similarity_index

TITLE = "Similar solutions: fingerprint index on one solution cell (medians)"
SIZES = (1_000, 4_000, 16_000)
PROJECTED = 50_000
ASSIGNMENT, CELL = "resnet-bottleneck", "PreActBottleneck"

# (pattern, replacement) rewrites an honest student may or may not make: same meaning, other
# tokens. Each match is rewritten or not, with probability 1/2: students mix styles.
REWRITES = [
    (r"(?<![\w.])nn\.", "torch.nn."),
    (r"(?<![\w.])F\.", "torch.nn.functional."),
    (r"(\w+) == (\w+)", r"\2 == \1"),
    (r"(\w+) != (\w+)", r"not \1 == \2"),
    (r"nn\.ReLU\(inplace=True\)", "nn.ReLU()"),
    (r"super\(\)\.__init__\(\)", "nn.Module.__init__(self)"),
    (r"^(\s*)(\w[\w.]*) \+= (.+)$", r"\1\2 = \2 + \3"),
    (r"^(\s*)return (.+\(.*\).*)$", r"\1result = \2\n\1return result"),
    (r"\bF\.relu\(", "torch.relu("),
    (r", 1, bias=False\)", ", kernel_size=1, bias=False)"),
    (r"padding=1\b", "padding=(1, 1)"),
    (r"stride=stride\b", "stride=(stride, stride)"),
    (r"bias=False\)", "bias=False,)"),
    (r"^(\s*)def (\w+)\((self, )?x\):$", r"\1def \2(\3x: torch.Tensor) -> torch.Tensor:"),
    (r"^(\s*)(def \w+\(.*\).*:)$", r'\1\2\n\1    """Returns the block\'s output."""'),
    (r"^(\s*)if (.+) or (.+):$", r"\1if (\2) or (\3):"),
]
FUNCTIONS = sorted(n for n in dir(math) if not n.startswith("_") and callable(getattr(math, n)))


def solution_code(assignment=ASSIGNMENT, cell=CELL, course=None):
    """(the solution cell's code without nbgrader's markers, the released cell's code)."""
    course = course or environment.course_root()
    cells = {}
    for folder in ("solutions", "exercises"):
        notebook = nbformat.read(course / folder / assignment / f"{assignment}.ipynb", 4)
        cells[folder] = next(c.source for c in notebook.cells if c.cell_type == "code" and
                             (c.metadata.get("nbgrader") or {}).get("grade_id") == cell)
    code = "\n".join(line for line in cells["solutions"].splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return code, cells["exercises"]


def _own_line(rng, indent):
    """A line of the student's own (a check, a scale): two functions of a large vocabulary."""
    first, second = rng.sample(FUNCTIONS, 2)
    return f"{indent}_ = math.{first}(math.{second}(1.0))" if rng.random() < 0.5 else \
        f"{indent}assert math.{first}(2.0) != math.{second}(3.0)"


def _parses(code):
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def honest_variant(code, rng):
    """One student's honest version of `code`: some rewrites, and a line of their own."""
    for pattern, replacement in REWRITES:
        rewritten = re.sub(pattern, lambda m, r=replacement: m.expand(r) if rng.random() < 0.5
                           else m.group(), code, flags=re.MULTILINE)
        if _parses(rewritten):  # a line-wise rewrite of a statement over several lines is not
            code = rewritten
    lines = code.splitlines()
    for _ in range(rng.randint(1, 2)):
        bodies = [i for i, line in enumerate(lines)
                  if line.lstrip().startswith("def ") and line.rstrip().endswith(":")]
        where = rng.choice(bodies)
        indent = re.match(r"\s*", lines[where]).group() + "    "
        lines.insert(where + 1, _own_line(rng, indent))
    return "\n".join(lines)


def disguise(code, released, rng):
    """`code` as a copier hands it in: its own names renamed (not those the task imposes),
    comments added: the same answer to the similarity check, another text to a reader."""
    imposed = set(re.findall(r"\w+", released))
    tree_names = names.walk(code).stored
    renamed = {name: f"my_{name}_{rng.randint(0, 99)}" for name in tree_names - imposed}
    out = []
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        text = renamed.get(token.string, token.string) if token.type == tokenize.NAME \
            else token.string
        out.append((token.type, text))
    lines = tokenize.untokenize(out).splitlines()
    return "\n".join(f"{line}  # step {i}" if line.strip().endswith(")") else line
                     for i, line in enumerate(lines))


def wrong(code):
    """A mistake worth copying: the block's output is scaled and the shortcut dropped."""
    lines = code.splitlines()
    last = max(i for i, line in enumerate(lines) if line.lstrip().startswith("return "))
    indent = re.match(r"\s*", lines[last]).group()
    lines.insert(last, f"{indent}x = x * 0.5 - x.mean(dim=(2, 3), keepdim=True)")
    return "\n".join(lines)


def a_class(size, seed=0, code=None, released=None):
    """{student: code}: `size` honest variants, two of them (copier_a, copier_b) a planted
    copy of one wrong answer."""
    if code is None:
        code, released = solution_code()
    rng = random.Random(seed)
    codes = {f"s{i:05d}": honest_variant(code, rng) for i in range(size - 2)}
    copied = wrong(honest_variant(code, rng))
    codes["copier_a"] = copied
    codes["copier_b"] = disguise(copied, released, rng)
    return codes


def _indexed(codes, released):
    """(CPU seconds, wall seconds, index, flagged pairs) of one full check: index the class,
    find the pairs. CPU time is what the growth is read from: on a shared machine the wall
    clock also counts the time other processes held the cores."""
    cpu, wall = time.process_time(), time.perf_counter()
    with similarity_index.collector_paused():  # as similar_pairs does
        index = similarity_index.Index(released)
        for key, text in sorted(codes.items()):
            index.add(key, text)
        pairs = index.pairs()
    return time.process_time() - cpu, time.perf_counter() - wall, index, pairs


def run(repeats=3):
    code, released = solution_code()
    rows, measured = [], {}
    for size in SIZES:
        codes = a_class(size, seed=size, code=code, released=released)
        runs = [_indexed(codes, released) for _ in range(repeats if size < SIZES[-1] else 1)]
        seconds = sorted(r[0] for r in runs)[len(runs) // 2]
        wall = sorted(r[1] for r in runs)[len(runs) // 2]
        _, _, index, pairs = runs[0]
        measured[size] = seconds
        candidates = len(index.candidates())
        groups = similarity_index.groups_of(pairs)
        first = (pairs[0].first, pairs[0].second) if pairs else ()
        rows.append({"submissions": f"{size:,}", "runs": len(runs), "CPU s": f"{seconds:.1f}",
                     "wall s": f"{wall:.1f}",
                     "µs per submission": f"{seconds / size * 1e6:.0f}",
                     "candidate pairs": f"{candidates:,}",
                     "of all pairs": f"{candidates / (size * (size - 1) / 2):.3%}",
                     "flagged": f"{len(pairs):,}",
                     "largest group": max((len({p.first for p in g} | {p.second for p in g})
                                           for g in groups), default=0),
                     "planted copy first": "yes" if first == ("copier_a", "copier_b") else "no"})
    small, large = SIZES[-2], SIZES[-1]
    growth = math.log(measured[large] / measured[small]) / math.log(large / small)
    projected = measured[large] * (PROJECTED / large) ** growth
    rows.append({"submissions": f"{PROJECTED:,} (projected)", "runs": "",
                 "CPU s": f"{projected:.0f}", "wall s": "",
                 "µs per submission": f"{projected / PROJECTED * 1e6:.0f}",
                 "candidate pairs": "", "of all pairs": "",
                 "flagged": f"growth exponent {growth:.2f} ({small:,} -> {large:,}; 1 = linear)",
                 "largest group": "", "planted copy first": ""})
    return rows
