"""The core of every exercise check: the learner's code against the reference, with messages
that name the likely mistake.

Every check goes through two doors:
- `call_learner(fn, *args, numpy_only=...)` runs the learner's function, refusing code that reaches
  into the `onebyone` package (the reference answers) or, for NumPy-only items, into torch.
- `compare_arrays(got, expected, ...)` compares plain arrays, and on failure explains the
  difference in a learner's terms (shape, which channel, a known mistake).

The grading command (`onebyone grade`) keeps the same checks but runs the learner's code in another
process; this is why a check only ever looks at the learner's results as plain values. There,
`fn` is a stand-in (onebyone.grading.remote.RemoteObject) and `call_learner` hands the call to it:
the grader checks the learner's source itself, and the learner's process runs this same function.
"""

import ast
import builtins
import inspect
import pathlib
import sys

import numpy as np
import torch

PACKAGE_DIR = str(pathlib.Path(__file__).resolve().parent.parent)
TORCH_DIR = str(pathlib.Path(torch.__file__).resolve().parent)


class CheckFailure(AssertionError):
    """A test found a mistake; the message is written for the learner."""


# --- calling the learner's code ---------------------------------------------------------------


def _resolve(fn, name):
    """What a global name used inside `fn` points to, or None."""
    closure = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
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


def forbidden_dependencies(fn, numpy_only, _seen=None):
    """Names in the learner's function (and the learner's helpers it calls) that reach torch or
    the course's reference package. Read from the source, so it works before anything runs."""
    seen = _seen if _seen is not None else set()
    if not inspect.isfunction(fn) or fn in seen:
        return []
    seen.add(fn)
    try:
        tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return []  # source not available: the runtime watch below still applies
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name):
            continue
        value = _resolve(fn, node.id)
        origin = _origin(value) if value is not None else ""
        if origin == "onebyone" or (numpy_only and origin == "torch"):
            found.append(f"{node.id} (from {origin})")
        elif inspect.isfunction(value) and value.__module__ == fn.__module__:
            found.extend(forbidden_dependencies(value, numpy_only, seen))
    return sorted(set(found))


class _CallWatch:
    """Watches one call of learner code and remembers the first call into a forbidden place."""

    def __init__(self, numpy_only):
        self.numpy_only = numpy_only
        self.offender = None

    def _forbidden_file(self, filename):
        if filename.startswith(PACKAGE_DIR):
            return "the course's reference package onebyone"
        if self.numpy_only and filename.startswith(TORCH_DIR):
            return "torch"
        return None

    def _forbidden_builtin(self, func):
        owner = getattr(func, "__self__", None)
        names = [getattr(func, "__module__", None) or "", getattr(owner, "__name__", "") or ""]
        names.append(type(owner).__module__ or "")
        if self.numpy_only and any(str(n).startswith("torch") for n in names):
            return "torch"
        return None

    def __call__(self, frame, event, arg):
        if self.offender is not None:
            return
        if event == "call":
            where = self._forbidden_file(frame.f_code.co_filename)
            if where:
                self.offender = f"{frame.f_code.co_name} in {where}"
        elif event == "c_call":
            where = self._forbidden_builtin(arg)
            if where:
                self.offender = f"{getattr(arg, '__name__', arg)} in {where}"


def call_learner(fn, *args, numpy_only, item=None):
    """Call the learner's `fn(*args)`; fail if it uses torch (NumPy-only items) or the reference."""
    item = item or getattr(fn, "__name__", "your function")
    from onebyone.grading.remote import RemoteObject  # here: the grading package imports core

    if type(fn) is RemoteObject:  # `onebyone grade`: the function lives in a sandboxed process
        return fn.checked_call(args, numpy_only=numpy_only, item=item)
    if not callable(fn):
        raise CheckFailure(f"{item} should be a function, but it is a {type(fn).__name__}.")
    banned = forbidden_dependencies(fn, numpy_only)
    rule = "NumPy only, without torch or" if numpy_only else "without"
    if banned:
        raise CheckFailure(
            f"{item} uses {', '.join(banned)}. This item must be written {rule} the course's "
            "reference package `onebyone`: it scores zero until it does the work itself."
        )
    watch = _CallWatch(numpy_only)
    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        result = fn(*args)
    finally:
        sys.setprofile(previous)
    if watch.offender:
        raise CheckFailure(
            f"{item} called {watch.offender}. This item must be written {rule} the course's "
            "reference package `onebyone`: it scores zero until it does the work itself."
        )
    return result


# --- comparing results ------------------------------------------------------------------------


def as_array(value, item):
    """The learner's result as a plain float array, or a clear failure."""
    if isinstance(value, torch.Tensor):
        raise CheckFailure(f"{item} returned a torch.Tensor; return a NumPy array (np.ndarray).")
    if type(value) is not np.ndarray:
        raise CheckFailure(f"{item} returned a {type(value).__name__}; expected a NumPy array.")
    return value.astype(float, copy=False)


def _shape_hint(got, expected):
    """A guess at why two shapes differ."""
    if sorted(got) == sorted(expected) and len(got) == 4:
        return (" The sizes are right but in the wrong order: the course uses NCHW "
                "(batch, channels, height, width), not NHWC.")
    if len(got) != len(expected):
        return f" Your result has {len(got)} dimensions; {len(expected)} were expected."
    return ""


def compare_arrays(got, expected, item, mistakes=(), atol=1e-6, rtol=1e-5):
    """Check `got` against `expected`; on failure, say where and how it differs.

    `mistakes` lists (description, array) pairs: what a typical wrong answer would return. If the
    learner's result matches one of them, the message names that mistake.
    """
    got = as_array(got, item)
    expected = np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        raise CheckFailure(f"{item}: expected shape {expected.shape}, got {got.shape}."
                           + _shape_hint(got.shape, expected.shape))
    if not np.all(np.isfinite(got)):
        raise CheckFailure(f"{item}: the result holds NaN or infinite values.")
    if np.allclose(got, expected, atol=atol, rtol=rtol):
        return
    for description, wrong in mistakes:
        wrong = np.asarray(wrong, dtype=float)
        if wrong.shape == got.shape and np.allclose(got, wrong, atol=atol, rtol=rtol):
            raise CheckFailure(f"{item}: the values are wrong. It looks like {description}.")
    error = np.abs(got - expected)
    where = np.unravel_index(np.argmax(error), error.shape)
    message = (f"{item}: the values are wrong: off by up to {error.max():.4g} "
               f"at index {tuple(int(i) for i in where)}")
    if got.ndim == 4:
        bad = sorted({int(c) for c in np.nonzero(error > atol + rtol * np.abs(expected))[1]})
        message += f"; channels that differ: {bad[:10]}{' ...' if len(bad) > 10 else ''}"
    raise CheckFailure(message + ".")


def check_equal(got, expected, item, mistakes=()):
    """Check an exact answer (a count); `mistakes` maps wrong values to what probably went wrong."""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        raise CheckFailure(f"{item}: expected a whole number, got a {type(got).__name__}.")
    if int(got) == expected:
        return
    for wrong, description in mistakes:
        if int(got) == wrong:
            raise CheckFailure(f"{item}: got {int(got)}, expected {expected}. "
                               f"It looks like {description}.")
    raise CheckFailure(f"{item}: got {int(got)}, expected {expected}.")
