"""The core of every exercise check: the learner's code against the reference, with messages
that name the likely mistake.

Every check goes through two doors:
- `call_learner(fn, *args, numpy_only=...)` runs the learner's function, refusing code that reaches
  into the `onebyone` package (the reference answers) or, for NumPy-only items, into torch.
- `compare_arrays(got, expected, ...)` compares plain arrays, and on failure explains the
  difference in a learner's terms (shape, which channel, a known mistake).

The grading command (`onebyone grade`) keeps the same checks but runs the learner's code in another
process; this is why a check only ever looks at the learner's results as plain values. The grader
hands the checks its way of calling that code (`calling_learner_with`); the checks never know the
grader's types.

The contract every check keeps, so that the learner's objects can be proxies from another process:
- every call of learner code (functions, classes, a module's forward) goes through
  `call_learner(fn, *args, numpy_only=..., item=...)`: `construct_learner` and `forward` below are
  the doors for torch modules;
- a learner's result is used only as a plain value: NumPy arrays, ints, tuples, or a torch module
  used ONLY through `module(x)` (via `forward`, under torch.no_grad()), `state_dict()`,
  `named_parameters()`, `parameters()`, `load_state_dict()`, `train()`/`eval()`,
  `modules()`/`named_modules()` and `isinstance(..., nn.Module / nn.Conv2d / ...)`.
Torch modules are compared with the reference by copying state (roles.compare_modules): the same
numbers in both, matched layer by layer by role (kind, shapes, place in the computation), then the
same input must give the same output, so structure and arithmetic are both checked.
"""

import builtins
import contextlib
import contextvars
import dis
import functools
import inspect
import pathlib
import sys

import numpy as np
import torch
from torch import nn

from onebyone.checks import display, rules
from onebyone.checks.messages import _, ngettext

PACKAGE_DIR = str(pathlib.Path(__file__).resolve().parent.parent)
TORCH_DIR = str(pathlib.Path(torch.__file__).resolve().parent)


class CheckFailure(AssertionError):
    """A test found a mistake; the message is written for the learner."""


# --- confirming success -----------------------------------------------------------------------

_tally = {"passed": 0, "depth": 0}  # checks passed since the last `passed()`; nesting depth


def learner_check(check):
    """Decorator for a check that test cells call: counted once when it passes.

    A check that calls another check counts once (only the outermost call); a failure resets the
    tally, so the next cell's confirmation counts only its own checks."""

    @functools.wraps(check)
    def counted(*args, **kwargs):
        _tally["depth"] += 1
        try:
            result = check(*args, **kwargs)
        except BaseException:
            _tally["passed"] = 0
            display.install()  # however the checks were imported, show the learner's frames
            raise
        finally:
            _tally["depth"] -= 1
        if _tally["depth"] == 0:
            _tally["passed"] += 1
        return result

    return counted


def passed(item, tests="public"):
    """The last line of a test cell: confirm, in one line, the checks that just passed.

    Public test cells end with `passed(item)`; hidden ones with `passed(item, "hidden")`, inside
    their hidden region, so that the next public cell counts only its own checks."""
    count, _tally["passed"] = _tally["passed"], 0
    if tests == "hidden":
        line = ngettext("✓ {item}: {count} hidden check passed",
                        "✓ {item}: {count} hidden checks passed", count)
    else:
        line = ngettext("✓ {item}: {count} public check passed",
                        "✓ {item}: {count} public checks passed", count)
    print(line.format(item=item, count=count))


# --- calling the learner's code ---------------------------------------------------------------


def _resolve(fn, name):
    """What a global name used inside `fn` points to, or None."""
    closure = dict(zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False))
    if name in closure:
        try:
            return closure[name].cell_contents
        except ValueError:
            return None
    if name in fn.__globals__:
        return fn.__globals__[name]
    return getattr(builtins, name, None)


def _origin(value):
    """The top-level package an object comes from ('torch', 'onebyone', 'numpy', ...)."""
    if inspect.ismodule(value):
        name = value.__name__
    else:
        name = getattr(value, "__module__", None) or type(value).__module__ or ""
    return name.split(".")[0]


def _loaded_names(code):
    """(kind, name) of every global or closure name a code object (and those nested in it) loads.

    Read from the bytecode, so it needs no source and ignores attribute names and comments."""
    found = set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            found.add(("global", instruction.argval))
        elif instruction.opname in ("LOAD_DEREF", "LOAD_CLASSDEREF"):
            found.add(("closure", instruction.argval))
    for constant in code.co_consts:
        if inspect.iscode(constant):
            found |= _loaded_names(constant)
    return found


def forbidden_dependencies(fn, numpy_only, _seen=None):
    """Names the learner's function (and the learner's own helpers it uses) load that reach
    torch or the course's reference package. Checked before the function runs."""
    seen = _seen if _seen is not None else set()
    if inspect.isclass(fn) and fn not in seen:
        # A learner's class: its bases and every method it defines.
        seen.add(fn)
        found = [_("{name} (from {origin})").format(name=base.__name__,
                                                    origin=rules.REFERENCE_PACKAGE)
                 for base in fn.__mro__[1:]
                 if _origin(base) == rules.REFERENCE_PACKAGE]
        for value in vars(fn).values():
            found.extend(forbidden_dependencies(value, numpy_only, seen))
        return sorted(set(found))
    if not inspect.isfunction(fn) or fn in seen:
        return []
    seen.add(fn)
    found = []
    for _kind, name in sorted(_loaded_names(fn.__code__)):
        value = _resolve(fn, name)
        origin = _origin(value) if value is not None else ""
        if origin in rules.forbidden_packages(numpy_only):
            found.append(_("{name} (from {origin})").format(name=name, origin=origin))
        elif ((inspect.isfunction(value) or inspect.isclass(value))
              and value.__module__ == fn.__module__):
            found.extend(forbidden_dependencies(value, numpy_only, seen))
    return sorted(set(found))


class _CallWatch:
    """Watches one call of learner code and remembers the first call into a forbidden place."""

    def __init__(self, numpy_only):
        self.numpy_only = numpy_only
        self.offender = None

    def _forbidden_file(self, filename):
        if filename.startswith(PACKAGE_DIR):
            return _("the course's reference package onebyone")
        if self.numpy_only and filename.startswith(TORCH_DIR):
            return rules.NUMPY_ONLY_FORBIDS
        return None

    def _forbidden_builtin(self, func):
        owner = getattr(func, "__self__", None)
        names = [getattr(func, "__module__", None) or "", getattr(owner, "__name__", "") or ""]
        names.append(type(owner).__module__ or "")
        if self.numpy_only and any(str(n).startswith(rules.NUMPY_ONLY_FORBIDS) for n in names):
            return rules.NUMPY_ONLY_FORBIDS
        return None

    def __call__(self, frame, event, arg):
        if self.offender is not None:
            return
        if event == "call":
            where = self._forbidden_file(frame.f_code.co_filename)
            if where:
                self.offender = _("{name} in {where}").format(name=frame.f_code.co_name,
                                                              where=where)
        elif event == "c_call":
            where = self._forbidden_builtin(arg)
            if where:
                self.offender = _("{name} in {where}").format(
                    name=getattr(arg, "__name__", arg), where=where)


# How learner code is called: here, or (while a grader runs a test cell) through the grader's
# caller, `caller(fn, args, numpy_only=..., item=...)`, which may hand the call to another process.
_learner_caller = contextvars.ContextVar("learner_caller", default=None)


@contextlib.contextmanager
def calling_learner_with(caller):
    """Within this block, every call of learner code made by a check goes through `caller`."""
    token = _learner_caller.set(caller)
    try:
        yield
    finally:
        _learner_caller.reset(token)


def call_learner(fn, *args, numpy_only, item=None):
    """Call the learner's `fn(*args)`; fail if it uses torch (NumPy-only items) or the reference."""
    item = item or getattr(fn, "__name__", "your function")
    caller = _learner_caller.get()
    if caller is not None:
        return caller(fn, args, numpy_only=numpy_only, item=item)
    return call_here(fn, *args, numpy_only=numpy_only, item=item)


def call_here(fn, *args, numpy_only, item):
    """call_learner for a function that lives in this process: read it, then watch it run."""
    if not callable(fn):
        raise CheckFailure(_("{item} should be a function, but it is a {kind}.").format(
            item=item, kind=type(fn).__name__))
    banned = forbidden_dependencies(fn, numpy_only)
    if banned:
        raise CheckFailure(rules.broken(item, ", ".join(banned), numpy_only))
    watch = _CallWatch(numpy_only)
    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        result = fn(*args)
    finally:
        sys.setprofile(previous)
    if watch.offender:
        raise CheckFailure(rules.broken(item, watch.offender, numpy_only, verb="called"))
    return result


# --- comparing results ------------------------------------------------------------------------


def as_array(value, item):
    """The learner's result as a plain float array, or a clear failure."""
    if isinstance(value, torch.Tensor):
        raise CheckFailure(_("{item} returned a torch.Tensor; return a NumPy array (np.ndarray)."
                             ).format(item=item))
    if type(value) is not np.ndarray:
        raise CheckFailure(_("{item} returned a {kind}; expected a NumPy array.").format(
            item=item, kind=type(value).__name__))
    return value.astype(float, copy=False)


def _shape_hint(got, expected):
    """A guess at why two shapes differ."""
    if sorted(got) == sorted(expected) and len(got) == 4:
        return "\n" + _("The sizes are right but in the wrong order: the course uses NCHW "
                       "(batch, channels, height, width), not NHWC.")
    if len(got) != len(expected):
        return "\n" + _("Your result has {got} dimensions; {expected} were expected.").format(
            got=len(got), expected=len(expected))
    return ""


def looks_like(item, mistake):
    """The failure naming a known mistake: `mistake` completes "It looks like ..." (translated
    by its caller). Marked, so that a later explanation does not replace the named mistake."""
    failure = CheckFailure(_("{item}: the values are wrong.\nIt looks like {mistake}.").format(
        item=item, mistake=mistake))
    failure.names_a_mistake = True
    return failure


def compare_arrays(got, expected, item, mistakes=(), atol=1e-6, rtol=1e-5):
    """Check `got` against `expected`; on failure, say where and how it differs.

    `mistakes` lists (description, array) pairs: what a typical wrong answer would return. If the
    learner's result matches one of them, the message names that mistake.
    """
    got = as_array(got, item)
    expected = np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        raise CheckFailure(_("{item}: expected shape {expected}, got {got}.").format(
            item=item, expected=expected.shape, got=got.shape)
            + _shape_hint(got.shape, expected.shape))
    if not np.all(np.isfinite(got)):
        raise CheckFailure(_("{item}: the result holds NaN or infinite values.").format(item=item))
    if np.allclose(got, expected, atol=atol, rtol=rtol):
        return
    for description, wrong in mistakes:
        wrong = np.asarray(wrong, dtype=float)
        if wrong.shape == got.shape and np.allclose(got, wrong, atol=atol, rtol=rtol):
            raise looks_like(item, description)
    # Where it differs, never by how much: the size of the error would give the answer away.
    wrong = ~np.isclose(got, expected, atol=atol, rtol=rtol)
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    where = {"item": item, "count": int(wrong.sum()), "size": wrong.size, "first": first}
    if got.ndim != 4:
        raise CheckFailure(_("{item}: the values are wrong at {count} of {size} places, the "
                             "first at index {first}.").format(**where))
    bad = sorted({int(c) for c in np.nonzero(wrong)[1]})
    raise CheckFailure(_("{item}: the values are wrong at {count} of {size} places, the first at "
                         "index {first};\nchannels that differ: {channels}.").format(
        channels=f"{bad[:10]}{' ...' if len(bad) > 10 else ''}", **where))


def check_equal(got, expected, item, mistakes=()):
    """Check an exact answer (a count); `mistakes` maps wrong values to what probably went wrong.

    The message never shows the expected number: it says whether the answer is too small or too
    large, and names the mistake when the answer is a known wrong one."""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        raise CheckFailure(_("{item}: expected a whole number, got a {kind}.").format(
            item=item, kind=type(got).__name__))
    if int(got) == expected:
        return
    for wrong, description in mistakes:
        if int(got) == wrong and wrong != expected:
            failure = CheckFailure(_("{item}: your answer {answer} is not right.\n"
                                     "It looks like {mistake}.").format(
                item=item, answer=int(got), mistake=description))
            failure.names_a_mistake = True
            raise failure
    if int(got) < expected:
        raise CheckFailure(_("{item}: your answer {answer} is too small.").format(
            item=item, answer=int(got)))
    raise CheckFailure(_("{item}: your answer {answer} is too large.").format(
        item=item, answer=int(got)))


# --- torch modules: construct, run, copy state ------------------------------------------------


def construct_learner(cls, *args, item, expected=nn.Module):
    """Build the learner's module `cls(*args)` through call_learner; it must be an `expected`."""
    module = call_learner(cls, *args, numpy_only=False, item=item)
    if not isinstance(module, expected):
        raise CheckFailure(_("{item} returned a {kind}; expected a {expected}.").format(
            item=item, kind=type(module).__name__, expected=f"torch.nn.{expected.__name__}"))
    return module


def forward(module, x, item, train=False):
    """The learner's module on input `x` (a tensor), in eval() or train() mode, as a float array."""
    module.train(train)
    with torch.no_grad():
        try:
            out = call_learner(module, x, numpy_only=False, item=item)
        except CheckFailure:
            raise
        except Exception as error:  # a shape error inside the learner's forward, say
            raise CheckFailure(_("{item} failed on an input of shape {shape}: {error}").format(
                item=item, shape=tuple(x.shape), error=f"{type(error).__name__}: {error}"
            )) from error
    if not isinstance(out, torch.Tensor):
        raise CheckFailure(_("{item} returned a {kind}; expected a {expected}.").format(
            item=item, kind=type(out).__name__, expected="torch.Tensor"))
    return out.detach().double().numpy()


def randomize_state(module, seed):
    """Give every parameter and buffer of `module` seeded, non-trivial values.

    Batch norm gets scales away from 1, shifts away from 0 and running statistics away from
    (0, 1), so a missing or misplaced batch norm changes the output.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, value in module.state_dict().items():
            if not value.is_floating_point():
                continue  # num_batches_tracked
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "running_var":
                value.copy_(0.5 + 1.5 * torch.rand(value.shape, generator=g))
            elif leaf == "weight" and value.dim() == 1:  # a batch norm's scale
                value.copy_(0.5 + torch.rand(value.shape, generator=g))
            elif value.dim() >= 2:  # a weight: scaled so outputs stay of order one
                fan_in = value[0].numel()
                value.copy_(torch.randn(value.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            else:  # biases, running means
                value.copy_(0.5 * torch.randn(value.shape, generator=g))
    return module


def check_copied(given, made, item):
    """Fail if the learner's module `made` shares tensors with the module `given` to it (a change
    to one would change the other): it must hold copies of the numbers.

    Seen only when `made` lives in this process; a module a grader copies from another process
    cannot share anyway."""
    held = {k: v.clone() for k, v in made.state_dict().items()}
    with torch.no_grad():
        for value in given.parameters():
            value.add_(1.0)
        try:
            shared = any(not torch.equal(held[k], v) for k, v in made.state_dict().items())
        finally:
            for value in given.parameters():
                value.sub_(1.0)
    if shared:
        raise CheckFailure(_("{item}: your module shares its tensors with the one it was given: "
                             "training one would change the other. Give it copies of the "
                             "numbers.").format(item=item))
