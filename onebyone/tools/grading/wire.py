"""What crosses the pipe between the grader and the sandboxed student process.

A message is a frame: an 8-byte header (two lengths), a JSON document and a binary blob.
- Grader -> student: the JSON says what to do; the blob, when present, is a pickle of the call's
  arguments. Pickle is safe in this direction only: the student process unpickles data made by
  the grader, never the other way round.
- Student -> grader: the JSON holds plain values (None, bool, int, float, str, lists, tuples,
  string-keyed dicts); arrays and tensors travel in the blob as an .npz archive read with
  `allow_pickle=False`. Anything else (a function, a torch module) stays in the student process
  and crosses as a handle: {"object": id, "classes": [...], "callable": bool}.
So no object made by student code ever exists in the grader: only numbers, strings and arrays.
"""

import io
import json
import math
import socket
import struct
import types
from collections.abc import Callable

import numpy as np
import torch

HEADER = struct.Struct("!II")  # (JSON bytes, blob bytes)
MAX_DEPTH = 32  # deeper nesting is refused: a result is a few arrays, not a deep tree
MAX_ITEMS = 100_000  # longest list or iterator that is materialised
NUMERIC_KINDS = "biufc"  # bool, int, unsigned, float, complex: what an array may hold


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


# --- frames -----------------------------------------------------------------------------------


def send(sock: socket.socket, document: dict, blob: bytes = b"") -> None:
    """Send one frame: a JSON-able `document` and an optional binary `blob`."""
    text = json.dumps(document, allow_nan=False).encode("utf-8")
    sock.sendall(HEADER.pack(len(text), len(blob)) + text + blob)


def _read_exactly(sock, size):
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket, max_bytes: int) -> tuple[dict, bytes]:
    """Read one frame; refuse frames larger than `max_bytes`. Returns (document, blob)."""
    try:
        text_size, blob_size = HEADER.unpack(_read_exactly(sock, HEADER.size))
    except TimeoutError:
        raise
    if text_size + blob_size > max_bytes:
        raise ProtocolError(f"a message of {text_size + blob_size} bytes exceeds {max_bytes}")
    text = _read_exactly(sock, text_size)
    blob = _read_exactly(sock, blob_size) if blob_size else b""
    try:
        document = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ProtocolError("a message must be a JSON object")
    return document, blob


# --- student side: values -> plain data ---------------------------------------------------------


def _plain_array(value):
    """A plain ndarray copy of an array-like (subclasses lose their overrides here)."""
    array = np.array(np.ndarray.view(value, np.ndarray), copy=True, subok=False)
    if array.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"an array of dtype {array.dtype} cannot be graded")
    return array


def encode(value: object, handle_of: Callable[[object], int]) -> tuple[object, bytes]:
    """`value` as (JSON document, npz blob). `handle_of(obj)` keeps an object and returns its id."""
    arrays = []

    def keep_array(array):
        arrays.append(array)
        return len(arrays) - 1

    def walk(v, depth):
        if depth > MAX_DEPTH:
            raise TypeError("the result is nested too deeply")
        kind = type(v)
        # subclasses of plain types are read through the base type's own methods, so an
        # override (an __eq__ that always says yes) does not cross: only the stored value does
        if v is None or kind is bool:
            return v
        if isinstance(v, str):
            return str.__str__(v)
        if isinstance(v, int) and not isinstance(v, bool):
            v = int.__int__(v)
            return v if abs(v) < 2**53 else {"int": str(v)}
        if isinstance(v, float):
            v = float.__float__(v)
            return v if math.isfinite(v) else {"float": repr(v)}
        if isinstance(v, np.generic) and np.dtype(v.dtype).kind in NUMERIC_KINDS:
            return {"scalar": keep_array(np.array(v, dtype=v.dtype))}
        if isinstance(v, np.ndarray):
            return {"array": keep_array(_plain_array(v))}
        if isinstance(v, torch.Tensor):
            array = _plain_array(torch.Tensor.detach(v).cpu().numpy())
            return {"tensor": keep_array(array), "parameter": isinstance(v, torch.nn.Parameter)}
        if isinstance(v, (tuple, list)):  # namedtuples too, read as plain tuples
            base = tuple if isinstance(v, tuple) else list
            items = list(base.__iter__(v))
            if len(items) > MAX_ITEMS:
                raise TypeError("the result is too long")
            return {base.__name__: [walk(x, depth + 1) for x in items]}
        if isinstance(v, dict):  # an OrderedDict state_dict too
            pairs = list(dict.items(v))
            if all(isinstance(k, str) for k, _ in pairs):
                return {"dict": [[str.__str__(k), walk(x, depth + 1)] for k, x in pairs]}
        if isinstance(v, (types.GeneratorType, map, filter, zip, enumerate)):
            items = []
            for x in v:
                if len(items) >= MAX_ITEMS:
                    raise TypeError("the result is too long")
                items.append(x)
            return {"list": [walk(x, depth + 1) for x in items]}
        classes = [f"{c.__module__}.{c.__qualname__}" for c in type(v).__mro__]
        return {"object": handle_of(v), "classes": classes, "callable": callable(v),
                "name": str(getattr(v, "__name__", ""))[:100]}

    document = walk(value, 0)
    blob = b""
    if arrays:
        buffer = io.BytesIO()
        np.savez(buffer, **{f"a{i}": a for i, a in enumerate(arrays)})
        blob = buffer.getvalue()
    return document, blob


# --- grader side: plain data -> values ----------------------------------------------------------


def decode(document: object, blob: bytes, make_proxy: Callable[[dict], object]) -> object:
    """Rebuild a value sent by `encode`; `make_proxy(handle_document)` stands in for objects."""
    arrays = {}
    if blob:
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except Exception as error:  # a malformed archive is a protocol error, never a crash
            raise ProtocolError(f"bad array archive: {error}") from None

    def array(index):
        found = arrays.get(f"a{index}") if type(index) is int else None
        if found is None or found.dtype.kind not in NUMERIC_KINDS:
            raise ProtocolError("reference to a missing or non-numeric array")
        return found

    def walk(v, depth):
        if depth > MAX_DEPTH:
            raise ProtocolError("nested too deeply")
        if v is None or type(v) in (bool, int, float, str):
            return v
        if type(v) is not dict or len(v) == 0:
            raise ProtocolError(f"unexpected value {str(v)[:80]}")
        if "int" in v or "float" in v:
            try:
                return int(str(v["int"])) if "int" in v else float(str(v["float"]))
            except ValueError:  # found by fuzzing: a student's "1.5" or "nan!" as an int
                raise ProtocolError(f"not a number: {str(v)[:80]}") from None
        if "scalar" in v:
            return array(v["scalar"])[()]
        if "array" in v:
            return array(v["array"])
        if "tensor" in v:
            tensor = torch.from_numpy(array(v["tensor"]).copy())
            return torch.nn.Parameter(tensor, requires_grad=False) if v.get("parameter") else tensor
        if "tuple" in v or "list" in v:
            items = v.get("tuple", v.get("list"))
            if type(items) is not list:
                raise ProtocolError("a sequence must be a list")
            values = [walk(x, depth + 1) for x in items]
            return tuple(values) if "tuple" in v else values
        if "dict" in v:
            pairs = v["dict"]
            if type(pairs) is not list or any(type(p) is not list or len(p) != 2
                                              or type(p[0]) is not str for p in pairs):
                raise ProtocolError("a dict must be a list of [str, value] pairs")
            return {k: walk(x, depth + 1) for k, x in pairs}
        if "object" in v:
            if type(v["object"]) is not int or type(v.get("classes")) is not list:
                raise ProtocolError("bad object handle")
            return make_proxy(v)
        raise ProtocolError(f"unknown value {str(v)[:80]}")

    return walk(document, 0)
