"""Where a check gets the reference's outputs: stored data (public tests) or the instructor's code.

The kit holds no reference code. A check asks `reference()(name, *args)` for what the instructor's
`name` (a function of the solution, or a check's recipe run on it) gives on `args`:

- in a student's notebook, the answer comes from `Stored`: the outputs the instructor's reference
  gave on the public tests' inputs, recorded when the exercises were released (`make exercises`)
  and shipped in the kit as `onebyone/checks/data/<assignment>.npz`;
- in the hidden tests, which run only on the instructor's side, the instructor's tools set a live
  reference with `using(...)`: the solution's own code, on fresh random inputs.

Calls are keyed by a digest of the name and the arguments' values, so a public test finds its
output only for the exact inputs it was recorded on.
"""

import contextlib
import contextvars
import hashlib
import io
import json
import pathlib

import numpy as np
import torch

from onebyone.checks.messages import _

DATA = pathlib.Path(__file__).resolve().parent / "data"
DATA_SHIPPED = DATA  # (DATA may be pointed elsewhere by a test; this stays the kit's folder)

_current = contextvars.ContextVar("reference", default=None)


class MissingCase(LookupError):
    """A check asked the stored reference for inputs it was never recorded on."""


def _canonical(value):
    """A JSON-able, exact description of a value, for the digest."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value, dtype=np.float64)
        return ["array", list(data.shape), hashlib.sha256(data.tobytes()).hexdigest()]
    if isinstance(value, (bool, np.bool_)):
        return ["bool", bool(value)]
    if isinstance(value, (int, np.integer)):
        return ["int", int(value)]
    if isinstance(value, (float, np.floating)):
        return ["float", float(value).hex()]
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return ["seq", [_canonical(v) for v in value]]
    if isinstance(value, dict):
        return ["dict", [[str(k), _canonical(v)] for k, v in sorted(value.items())]]
    raise TypeError(f"cannot key a reference call on a {type(value).__name__}")


def digest(name, args):
    """The key of one reference call."""
    text = json.dumps([name, _canonical(list(args))], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- values <-> a flat store of arrays (no pickle: the kit's data is plain numbers) --------------


def _pack(value, arrays):
    """A JSON tree for `value`, its arrays moved into `arrays` (name -> array)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(value)
        return {"array": name}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return {"float": float(value).hex()}
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return {"tuple": [_pack(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_pack(v, arrays) for v in value]
    if isinstance(value, dict):
        return {"dict": [[k, _pack(v, arrays)] for k, v in value.items()]}
    raise TypeError(f"cannot store a {type(value).__name__}")


def _unpack(tree, arrays):
    if isinstance(tree, list):
        return [_unpack(v, arrays) for v in tree]
    if isinstance(tree, dict):
        if "array" in tree:
            return arrays[tree["array"]].copy()
        if "float" in tree:
            return float.fromhex(tree["float"])
        if "tuple" in tree:
            return tuple(_unpack(v, arrays) for v in tree["tuple"])
        return {k: _unpack(v, arrays) for k, v in tree["dict"]}
    return tree


def save(records, path):
    """Write {key: value} to an .npz file (arrays, and the structure as JSON bytes)."""
    arrays = {}
    tree = {key: _pack(value, arrays) for key, value in sorted(records.items())}
    arrays["index"] = np.frombuffer(json.dumps(tree, sort_keys=True).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    pathlib.Path(path).write_bytes(buffer.getvalue())


def load(path):
    """{key: value} from a file written by `save`."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    tree = json.loads(arrays.pop("index").tobytes().decode())
    return {key: _unpack(value, arrays) for key, value in tree.items()}


class Stored:
    """The reference outputs recorded for one assignment's public tests."""

    def __init__(self, assignment):
        self.assignment = assignment
        path = DATA_SHIPPED / f"{assignment}.npz"
        self.records = load(path) if path.exists() else {}

    def __call__(self, name, *args):
        key = digest(name, args)
        if key not in self.records:
            raise MissingCase(_(
                "The kit holds no reference output for this test of {assignment!r}: the "
                "notebook and the kit do not belong together. Download both again from the "
                "course site.").format(assignment=self.assignment))
        return self.records[key]


class Recorder:
    """Wraps a live reference and keeps every answer it gives (used at release time)."""

    def __init__(self, live):
        self.live, self.records = live, {}

    def __call__(self, name, *args):
        value = self.live(name, *args)
        self.records[digest(name, args)] = value
        return _unpack(_pack(value, arrays := {}), arrays)  # what Stored would hand back


@contextlib.contextmanager
def using(source):
    """Within this block, checks take the reference's outputs from `source(name, *args)`."""
    token = _current.set(source)
    try:
        yield source
    finally:
        _current.reset(token)


_stored = {}


def reference(assignment):
    """The reference the checks of `assignment` use now: the one set by `using`, else the
    stored outputs of the public tests."""
    live = _current.get()
    if live is not None:
        return live
    if assignment not in _stored:
        _stored[assignment] = Stored(assignment)
    return _stored[assignment]
