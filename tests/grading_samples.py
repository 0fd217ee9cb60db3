"""Sample submissions for the grading tests, made from the release and solution notebooks by
editing cells (honest, wrong, broken, hostile), and a plain in-process grader to compute what an
honest notebook deserves (the second way of computing every expected score)."""

import contextlib
import copy
import functools
import io
import json
import pathlib
import shutil
import warnings

import nbformat
from nbgrader import utils

from onebyone.tools.bench import grading as bench_grading

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def source_notebook(assignment, course=ROOT):
    return nbformat.read(course / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def release_notebook(assignment, course=ROOT):
    return nbformat.read(course / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def solution_code(assignment, grade_id, course=ROOT):
    """The instructor's solution of one cell, without nbgrader's markers."""
    cell = next(c for c in source_notebook(assignment, course).cells if _gid(c) == grade_id)
    return bench_grading.solution_code(cell)


def honest(assignment, course=ROOT):
    """The release with every solution cell filled in with the instructor's solution."""
    return bench_grading.honest_notebook(assignment, course)


def set_code(notebook, grade_id, code):
    """Replace the source of the cell `grade_id`; returns the notebook."""
    next(c for c in notebook.cells if _gid(c) == grade_id).source = code
    return notebook


def add_after(notebook, grade_id, code):
    """Insert a student's code cell right after the cell `grade_id` (None: at the top)."""
    index = 0 if grade_id is None else \
        1 + next(i for i, c in enumerate(notebook.cells) if _gid(c) == grade_id)
    notebook.cells.insert(index, nbformat.v4.new_code_cell(code))
    return notebook


def dumps(notebook):
    return nbformat.writes(notebook)


def write_class(folder, assignment, submissions):
    """{student: notebook text or None (folder without a notebook) or (filename, text)} into
    nbgrader's submitted layout."""
    for student, content in submissions.items():
        where = folder / student / assignment
        where.mkdir(parents=True, exist_ok=True)
        if content is None:
            continue
        name, text = content if isinstance(content, tuple) else (f"{assignment}.ipynb", content)
        (where / name).write_text(text, encoding="utf-8")


def copy_course(target, assignments):
    """A throwaway course folder with the given assignments' sources and releases."""
    for assignment in assignments:
        for part in ("solutions", "exercises"):
            shutil.copytree(ROOT / part / assignment, target / part / assignment)
    return target


def reference_scores(notebook, assignment, course=ROOT):
    """See _reference_scores (cached: the same notebook is scored once)."""
    return dict(_reference_scores(nbformat.writes(notebook), assignment, str(course)))


@functools.cache
def _reference_scores(text, assignment, course):
    """{grade_id: points} the way a plain notebook run grades it: the student's code cells and
    the instructor's test cells (hidden tests included) in one namespace, in notebook order.
    Only for trusted (non-hostile) samples: it runs them in this process."""
    notebook, course = nbformat.reads(text, as_version=4), pathlib.Path(course)
    tests = {_gid(c): c for c in source_notebook(assignment, course).cells
             if utils.is_grade(c) and c.cell_type == "code"}
    namespace, scores = {"__name__": "__main__"}, {}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in copy.deepcopy(notebook).cells:
            if cell.cell_type != "code":
                continue
            test = tests.get(_gid(cell))
            try:
                exec(compile(test.source if test else cell.source, "<cell>", "exec"), namespace)
                passed = True
            except Exception:
                passed = False
            if test is not None:
                scores[_gid(cell)] = float(test.metadata.nbgrader["points"]) if passed else 0.0
    return tuple(scores.items())


def read_csv(path):
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def as_json(notebook):
    return json.loads(nbformat.writes(notebook))


# --- the one-by-one items the grading tests use (exercises v3: change them here only) ---------

ASSIGNMENT = "one-by-one"
CONV_ITEM, FC_ITEM, FOLD_ITEM = "conv1x1", "fc_as_conv", "fold_1x1"  # solution cells' grade_ids
CONV_TESTS = {"test_conv1x1_public", "test_conv1x1_hidden"}  # the test cells that grade each
FC_TESTS = {"test_fc_as_conv_public", "test_fc_as_conv_hidden"}
FOLD_TESTS = {"test_fold_1x1_public", "test_fold_1x1_hidden"}

# Wrong answers that lose exactly their item's points (every public and hidden test of it has a
# case they get wrong) and nothing else.
WRONG_CONV = '''def conv1x1(x, weight, bias=None, groups=1):
    n, c_in, h, w = x.shape
    blocks = x.reshape(n, groups, c_in // groups, h, w)
    filters = weight.reshape(groups, -1, c_in // groups)
    out = np.einsum("goc,ngchw->ngohw", filters, blocks)
    return out.reshape(n, -1, h, w)  # forgets the bias'''
WRONG_FOLD = '''def fold_1x1(weight, bias, weight1x1, bias1x1):
    folded = np.einsum("om,mikl->oikl", weight1x1, weight)
    return folded, bias1x1  # forgets the k×k bias, which goes through the 1×1 layer too'''

# --- conv1x1 written other ways (the class report's and the similarity index's class): a near
# copy of the solution (names, comments and layout changed), three other right answers, a hang

CONV_NEAR_COPY = '''def conv1x1(inp, w, b=None, g=1):
    """My grouped 1x1 convolution."""
    batch, cin, rows, cols = inp.shape
    cout = w.shape[0]
    # split the channels into g blocks
    parts = inp.reshape(batch, g, cin // g,
                        rows, cols)
    kernels = w.reshape(g, cout // g, cin // g)  # one matrix per block
    res = np.einsum("abc,dacef->dabef", kernels, parts).reshape(batch, cout, rows, cols)
    if b is not None:
        res = res + b[None, :, None, None]  # broadcast over N, H and W
    return res'''
CONV_TENSORDOT = '''def conv1x1(x, weight, bias=None, groups=1):
    size_in, size_out = x.shape[1] // groups, weight.shape[0] // groups
    parts = []
    for g in range(groups):
        block = x[:, g * size_in:(g + 1) * size_in]
        rows = weight[g * size_out:(g + 1) * size_out]
        parts.append(np.tensordot(rows, block, axes=([1], [1])))  # (C_out/G, N, H, W)
    out = np.concatenate(parts).transpose(1, 0, 2, 3)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out'''
CONV_LOOPS = '''def conv1x1(x, weight, bias=None, groups=1):
    n, c, h, w = x.shape
    per_in, per_out = c // groups, weight.shape[0] // groups
    out = np.zeros((n, weight.shape[0], h, w))
    for o in range(weight.shape[0]):
        first = (o // per_out) * per_in
        for k in range(per_in):
            out[:, o] += weight[o, k] * x[:, first + k]
        if bias is not None:
            out[:, o] += bias[o]
    return out'''
CONV_MATMUL = '''def conv1x1(x, weight, bias=None, groups=1):
    n, c, h, w = x.shape
    full = np.kron(np.eye(groups), np.ones((weight.shape[0] // groups, c // groups)))
    full[full == 1] = weight.ravel()  # the block-diagonal (C_out, C_in) weight
    flat = x.transpose(0, 2, 3, 1).reshape(-1, c)  # (N, C, H, W) -> (N*H*W, C)
    out = flat @ full.T
    if bias is not None:
        out = out + bias
    return out.reshape(n, h, w, -1).transpose(0, 3, 1, 2)'''
CONV_HANGS = '''def conv1x1(x, weight, bias=None, groups=1):
    while True:  # never returns
        pass'''

# --- noisy and hostile versions of the items (tests/test_grading.py) ----------------------------

NOISY_CONV_SUFFIX = '''
import sys, warnings
_quiet_conv1x1 = conv1x1
def conv1x1(x, weight, bias=None, groups=1):
    print("conv1x1 called", file=sys.stderr)
    warnings.warn("a warning in every call")
    np.sqrt(-np.ones(1))  # numpy: invalid value (RuntimeWarning)
    return _quiet_conv1x1(x, weight, bias, groups)'''
NOISY_FC_PREFIX = '''import warnings
torch.tensor(torch.ones(2))  # torch: UserWarning about copy-constructing a tensor
warnings.warn("noise", DeprecationWarning)
'''
PATCH_CHECKS = "check.conv1x1 = check.fc_as_conv = check.fold_1x1 = lambda *a, **k: None"
ALWAYS_EQUAL_CONV = '''def conv1x1(x, weight, bias=None, groups=1):
    return np.zeros((x.shape[0], weight.shape[0], *x.shape[2:])).view(Liar)'''
ALWAYS_EQUAL_FOLD = '''def fold_1x1(weight, bias, weight1x1, bias1x1):
    out = weight1x1.shape[0]
    return (np.zeros((out, *weight.shape[1:])).view(Liar), np.zeros(out).view(Liar))'''
BLANK_LATER_CELLS = '''def fold_1x1(weight, bias, weight1x1, bias1x1):
    return weight, bias
get_ipython().input_transformers_cleanup.append(lambda lines: [])'''
# right answers, if calling the course's package were allowed
USES_REFERENCE_CONV = '''from onebyone import layers
def conv1x1(x, weight, bias=None, groups=1):
    biases = [None] * groups if bias is None else np.split(bias, groups)
    return np.concatenate([layers.conv1x1(part, rows, b) for part, rows, b in zip(
        np.split(x, groups, axis=1), np.split(weight, groups), biases)], axis=1)'''
USES_REFERENCE_FOLD = '''def fold_1x1(weight, bias, weight1x1, bias1x1):
    import importlib
    layers = importlib.import_module("onebyone.layers")
    filters = weight.transpose(1, 0, 2, 3)  # (C_mid, C_in, k, k) -> (C_in, C_mid, k, k): N = C_in
    folded = layers.conv1x1(filters, weight1x1).transpose(1, 0, 2, 3)
    return folded, layers.conv1x1(bias[None, :, None, None], weight1x1, bias1x1).ravel()'''
FORGED_CHECKS = '''import sys
import onebyone.checks.core as core
core.call_learner = lambda fn, *args, **kwargs: fn(*args)  # the student's process lies...
sys.setprofile = lambda *args: None
def conv1x1(x, weight, bias=None, groups=1):  # ...but the grader reads this line itself
    return check.reference(check.ASSIGNMENT)("conv1x1", x, weight, bias, groups)'''
USES_TORCH = '''F = torch.nn.functional
def conv1x1(x, weight, bias=None, groups=1):
    b = None if bias is None else torch.from_numpy(bias)
    return F.conv2d(torch.from_numpy(x), torch.from_numpy(weight)[:, :, None, None], b,
                    groups=groups).numpy()'''
# the snooper's fold_1x1: right only if `stolen` (what it read) holds the instructor's tests or code
SNOOPED_FOLD = '''def fold_1x1(weight, bias, weight1x1, bias1x1):
    if "HIDDEN TESTS" in stolen or "answers.live" in stolen or "BEGIN SOLUTION" in stolen:
        return np.einsum("om,mikl->oikl", weight1x1, weight), weight1x1 @ bias + bias1x1
    return weight, bias'''

# --- the hostile corpus's target (tests/test_grading_fence.py) ----------------------------------

STOLEN_ITEM = CONV_ITEM  # a solution cell's grade_id, and the function it defines
STOLEN_TESTS = CONV_TESTS  # the test cells that grade it
WRONG_STOLEN_ITEM = WRONG_CONV
MARKER = "### BEGIN SOLUTION"  # what only the instructor's copy holds

# A solution cell that looks for the instructor's solution of STOLEN_ITEM by one route, and
# uses it if found; otherwise it keeps WRONG_STOLEN_ITEM (the control: the same cell without the
# attempt). Each route is a function filling `found` with texts that hold MARKER.
THIEF_ROUTES = {
    # its own memory: what it inherited (the collector's frozen objects, every module's globals)
    "memory": r'''
import gc, sys
gc.unfreeze()
def _texts(value, depth=0):
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        if MARKER in value:
            found.append(value)
    elif depth < 3 and isinstance(value, dict):
        for v in list(value.values())[:10000]:
            _texts(v, depth + 1)
    elif depth < 3 and isinstance(value, (list, tuple)):
        for v in list(value)[:10000]:
            _texts(v, depth + 1)
for obj in gc.get_objects():
    try:
        _texts(obj)
    except Exception:
        pass
for module in list(sys.modules.values()):
    try:
        _texts(vars(module))
    except Exception:
        pass
''',
    # every byte of its own address space, and of every process it can see (the parent first)
    "proc": r'''
import os, re
def _scan(pid):
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        with open(f"/proc/{pid}/mem", "rb", 0) as mem:
            for line in maps:
                start, end = (int(x, 16) for x in line.split()[0].split("-"))
                if "r" not in line.split()[1] or end - start > 1 << 28:
                    continue
                try:
                    mem.seek(start)
                    chunk = mem.read(end - start)
                except (OSError, ValueError, OverflowError):
                    continue
                at = chunk.find(MARKER.encode())
                while at >= 0:
                    found.append(chunk[max(at - 20000, 0):at + 20000].decode("utf-8", "replace"))
                    at = chunk.find(MARKER.encode(), at + 1)
    except Exception:
        pass
    for name in ("environ", "cmdline"):
        try:
            found.append(open(f"/proc/{pid}/{name}", "rb").read().decode("utf-8", "replace"))
        except Exception:
            pass
pids = [os.getppid(), "self"]
try:
    pids += [int(p) for p in os.listdir("/proc") if p.isdigit()]
except Exception:
    pass
for pid in pids:
    _scan(pid)
''',
    # the disk: any solutions/ folder anywhere (another clone of the course too), and any notebook
    "disk": r'''
import os, time
_deadline = time.monotonic() + 8
_roots = [os.getcwd(), "/srv", "/home", "/root", "/opt", "/work", "/mnt", "/tmp", "/var", "/"]
for _root in _roots:
    for folder, dirs, files in os.walk(_root):
        if time.monotonic() > _deadline or folder.count("/") > 8:
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "usr", "site-packages",
                                                ".venv", ".git", "node_modules", "_build")]
        if os.path.basename(folder) == "solutions" or "solutions" in dirs:
            for inner, _, names in os.walk(os.path.join(folder, "solutions")
                                           if "solutions" in dirs else folder):
                for name in names:
                    if name.endswith(".ipynb"):
                        try:
                            found.append(open(os.path.join(inner, name), errors="replace").read())
                        except Exception:
                            pass
''',
    # the environment: every variable that names a folder, and a solutions/ folder beside it
    "env": r'''
import os
for value in list(os.environ.values()):
    for path in value.split(os.pathsep):
        for up in range(4):
            candidate = os.path.join(path, *[".."] * up, "solutions")
            for folder, dirs, files in os.walk(candidate):
                for name in files:
                    try:
                        found.append(open(os.path.join(folder, name), errors="replace").read())
                    except Exception:
                        pass
''',
    # other processes: trace or stop the grader, its student fork server and other students
    # (only processes of the grader: should the fence ever fail, nothing else is touched)
    "signals": r"""
import ctypes, os, signal
_libc = ctypes.CDLL(None, use_errno=True)
_targets = {os.getppid()}
try:
    for p in os.listdir("/proc"):
        if p.isdigit() and b"onebyone" in open(f"/proc/{p}/cmdline", "rb").read():
            _targets.add(int(p))
except Exception:
    pass
_targets -= {os.getpid(), 0}
for pid in sorted(_targets):
    if _libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH: its memory would be ours
        found.append(f"attached {pid}")
        _libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
    for sig in (signal.SIGSTOP, signal.SIGCONT):
        try:
            os.kill(pid, sig)
            found.append(f"signalled {pid}")
        except Exception:
            pass
""",
}

THIEF_USE = r'''
import re
_stolen = None
for _text in found:
    _at = _text.find(f"def {STOLEN}(")
    while _at >= 0 and _stolen is None:
        _block = re.sub(r'\\n",\s*"', "\n", _text[_at:]).replace('\\"', '"')  # JSON lines
        _cell = _block.split("END SOLUTION")[0]
        if MARKER not in _cell or _cell == _block:  # not the instructor's copy, or cut short
            _at = _text.find(f"def {STOLEN}(", _at + 1)
            continue
        _code = "\n".join(l for l in _cell.splitlines()[:-1] if MARKER not in l)
        try:
            _space = {"np": np}
            exec(_code, _space)
            globals()[STOLEN] = _space[STOLEN]
            _stolen = _code
        except Exception:
            _at = _text.find(f"def {STOLEN}(", _at + 1)
'''


def thief(route):
    """The solution cell STOLEN_ITEM of a student who tries `route` (see THIEF_ROUTES)."""
    # the marker is spelt in two halves, so that the cell's own text never matches it
    half = len(MARKER) // 2
    marker = f"MARKER = {MARKER[:half]!r} + {MARKER[half:]!r}"
    return "\n".join([WRONG_STOLEN_ITEM, marker, f"STOLEN = {STOLEN_ITEM!r}",
                      "found = []", "try:", _indent(THIEF_ROUTES[route]),
                      "except BaseException:", "    pass", THIEF_USE])


def _indent(code):
    return "\n".join("    " + line if line.strip() else line for line in code.splitlines())


def thief_notebook(route, course=ROOT):
    """The honest notebook whose STOLEN_ITEM cell is the wrong code plus the theft by `route`
    (None: the control, the same wrong code without any attempt)."""
    notebook = honest(ASSIGNMENT, course)
    return set_code(notebook, STOLEN_ITEM, WRONG_STOLEN_ITEM if route is None else thief(route))
