"""Unit tests of the grader's parts that cross the fence: what crosses the pipe (wire.py, fuzzed),
the student-side loop (agent.py), the grader's reading of the student's source (static.py) and
the rebuilding of a submission from its source notebook (plan.py)."""

import copy
import json
import random
import socket
import struct
import threading

import grading_samples as samples
import nbformat
import numpy as np
import pytest
import torch

from onebyone.checks.core import CheckFailure
from onebyone.tools.grading import agent, course, plan, wire
from onebyone.tools.grading.static import StudentSource

A = samples.ASSIGNMENT
MAX = 1 << 20

# --- wire -------------------------------------------------------------------------------------


def roundtrip(value):
    document, blob = wire.encode(value, handle_of=lambda obj: 7)
    return wire.decode(json.loads(json.dumps(document)), blob, make_proxy=lambda h: ("proxy", h))


def test_plain_values_arrays_and_tensors_cross_unchanged():
    value = {"a": [1, 2.5, None, True, "x", 2**60, float("inf")],
             "b": (np.arange(6).reshape(2, 3),), "t": torch.ones(2, 2), "s": np.float32(1.5)}
    back = roundtrip(value)
    assert back["a"] == value["a"] and back["s"] == np.float32(1.5)
    assert np.array_equal(back["b"][0], value["b"][0]) and back["b"][0].dtype == np.int64
    assert torch.equal(back["t"], value["t"])


def test_only_the_stored_value_of_a_lying_subclass_crosses():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return True

    class LiarInt(int):
        def __eq__(self, other):
            return True

    back = roundtrip([np.zeros(3).view(Liar), LiarInt(4)])
    assert type(back[0]) is np.ndarray and not (back[0] == np.ones(3)).any()
    assert type(back[1]) is int and back[1] == 4 and back[1] != 5


def test_objects_cross_as_handles_and_object_arrays_not_at_all():
    assert roundtrip(len)[0] == "proxy" and roundtrip(len)[1]["callable"] is True
    with pytest.raises(TypeError):
        wire.encode(np.array([object()]), handle_of=id)


def random_document(rng, depth=0):
    """A random JSON value, mostly shaped like the wire's own (and often wrong)."""
    kind = rng.randrange(9 if depth < 4 else 4)
    scalars = [None, True, 3, -1.5, "text", 2**70]
    if kind < 4:
        return rng.choice(scalars)
    key = rng.choice(["int", "float", "scalar", "array", "tensor", "tuple", "list", "dict",
                      "object", "other"])
    if key in ("tuple", "list"):
        return {key: [random_document(rng, depth + 1) for _ in range(rng.randrange(3))]}
    if key == "dict":
        return {key: [[rng.choice(["k", 1]), random_document(rng, depth + 1)]
                      for _ in range(rng.randrange(3))]}
    if key == "object":
        return {key: rng.choice([1, "1", None]), "classes": rng.choice([[], "x", ["torch.Tensor"]])}
    return {key: rng.choice(scalars + [0, 1, "a0"])}


def test_fuzzed_values_decode_or_raise_a_protocol_error_only():
    rng = random.Random(24)
    _, blob = wire.encode([np.ones(2), np.array([1 + 2j])], handle_of=id)
    for _ in range(3000):
        document = random_document(rng)
        for chosen in (b"", blob, blob[: rng.randrange(len(blob))], bytes(rng.randbytes(40))):
            try:
                wire.decode(document, chosen, make_proxy=lambda h: h)
            except wire.ProtocolError:
                pass


def exchange_raw(data, max_bytes=MAX):
    """What receive() makes of `data` written raw on a pipe (the writer then closes it)."""
    mine, theirs = socket.socketpair()
    with mine, theirs:
        writer = threading.Thread(target=lambda: (theirs.sendall(data), theirs.close()))
        writer.start()
        try:
            return wire.receive(mine, max_bytes)
        finally:
            writer.join()


def test_fuzzed_frames_are_read_or_refused_cleanly():
    rng = random.Random(1)
    good = wire.HEADER.pack(2, 3) + b"{}" + b"abc"
    assert exchange_raw(good) == ({}, b"abc")
    for _ in range(1500):
        if rng.random() < 0.5:
            data = rng.randbytes(rng.randrange(40))
        else:  # a plausible header with a random body, cut short or not
            text = rng.choice([b"{}", b"[]", b'{"op": 1}', b"\xff\xfe", b"nul", b'"s"'])
            data = struct.pack("!II", len(text), rng.randrange(5)) + text + rng.randbytes(3)
            data = data[: rng.randrange(len(data) + 1)]
        try:
            document, _ = exchange_raw(data)
            assert isinstance(document, dict)
        except (wire.ProtocolError, EOFError):
            pass


def test_a_frame_larger_than_allowed_is_refused_before_it_is_read():
    with pytest.raises(wire.ProtocolError, match="exceeds"):
        exchange_raw(wire.HEADER.pack(10, MAX), max_bytes=MAX)


# --- agent ------------------------------------------------------------------------------------


@pytest.fixture
def served():
    """An Agent serving on one end of a pipe, in a thread; yields ask(request, argument)."""
    mine, theirs = socket.socketpair()
    server = agent.Agent(theirs, MAX)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()

    def ask(request, argument=None):
        import pickle

        blob = b"" if argument is None else pickle.dumps(argument)
        wire.send(mine, request, blob)
        document, blob = wire.receive(mine, MAX)
        if "value" in document:
            document["value"] = wire.decode(document["value"], blob, lambda h: h)
        return document

    yield ask
    mine.close()
    thread.join(timeout=10)
    theirs.close()


def test_the_agent_runs_cells_and_answers_lookups_and_calls(served):
    assert served({"op": "run", "code": "import numpy as np\ndef double(x):\n    return 2 * x"}) \
        == {"ok": True}
    handle = served({"op": "lookup", "name": "double"})["value"]
    assert handle["callable"] and handle["name"] == "double"
    reply = served({"op": "call", "target": handle["object"], "check": None},
                   ((np.arange(3),), {}))
    assert np.array_equal(reply["value"][0], [0, 2, 4]) and reply["value"][1] == {}


def test_the_agent_reports_errors_in_one_line_and_hides_its_own_names(served):
    reply = served({"op": "run", "code": "1 / 0"})
    assert reply["ok"] is False and reply["error"].startswith("ZeroDivisionError")
    for name in ("get_ipython", "_private", "In", "missing"):
        assert served({"op": "lookup", "name": name}) == {"found": False}
    served({"op": "run", "code": "thing = object()"})
    handle = served({"op": "lookup", "name": "thing"})["value"]
    assert "unknown request" in served({"op": "nonsense", "target": handle["object"]})["error"]
    assert served({"op": "len", "target": 10**6})["error"] == "KeyError: 1000000"


def test_a_checked_call_reports_what_the_rule_forbids(served):
    served({"op": "run", "code": "import torch\ndef f(x):\n    return torch.ones(1).numpy()"})
    handle = served({"op": "lookup", "name": "f"})["value"]
    reply = served({"op": "call", "target": handle["object"],
                    "check": {"numpy_only": True, "item": "f"}}, ((1,), {}))
    assert "violation" in reply and "torch" in reply["violation"]


# --- static -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("cells", "numpy_only", "found"), [
    (["import torch as t\ndef f(x):\n    return t.ones(1)"], True, {"t (from torch)"}),
    (["import torch as t\ndef f(x):\n    return t.ones(1)"], False, set()),
    (["from onebyone import layers\ndef f(x):\n    return layers.conv1x1(x, x)"], False,
     {"layers (from onebyone)"}),
    (["import torch\ne = torch.einsum\ndef f(x):\n    return e('i->i', x)"], True,
     {"e (from torch)"}),
    (["import torch\ndef helper(x):\n    return torch.ones(1)", "def f(x):\n    return helper(x)"],
     True, {"torch (from torch)"}),
    (["def f(x):\n    import importlib\n    return importlib.import_module('torch')"], True,
     {"import_module('torch')"}),
    (["import torch\ndef f(torch):\n    return torch"], True, set()),  # a parameter shadows it
    (["def f(x):\n    from onebyone.layers import conv1x1\n    return conv1x1"], False,
     {"import onebyone.layers"}),
])
def test_the_grader_reads_what_a_function_reaches(cells, numpy_only, found):
    assert StudentSource(cells).forbidden("f", numpy_only) == found


def test_a_forbidden_use_is_the_courses_check_failure():
    source = StudentSource(["import torch\ndef f(x):\n    return torch.zeros(1)", "def (broken"])
    with pytest.raises(CheckFailure, match="NumPy only"):
        source.check("f", True, "f")
    source.check("f", False, "f")  # allowed where torch is


# --- plan -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source():
    return course.sources_of(samples.ROOT, [A])[A]


def steps_and_notes(source, notebook):
    submission = plan.read_submission(nbformat.writes(notebook).encode())
    return plan.build(source, submission)


def test_the_plan_takes_only_the_students_cells_and_keeps_the_source_order(source):
    honest = samples.honest(A)
    samples.add_after(honest, samples.STOLEN_ITEM, "extra = 1")
    steps, notes = steps_and_notes(source, honest)
    assert notes == []
    graded = [s.cell_id for s in steps if s.where == "grader"]
    assert graded == [t.grade_id for t in source.tests()]
    ids = [s.cell_id for s in steps]
    assert ids[ids.index(samples.STOLEN_ITEM) + 1] == "added cell 1"
    test_code = {s.cell_id: s.code for s in steps if s.where == "grader"}
    assert all(test_code[g] == course.cell_text(source.by_id[g]) for g in test_code)


def test_the_plan_restores_tampered_test_cells_and_says_so(source):
    notebook = samples.honest(A)
    tests = [c for c in notebook.cells if course.nbgrader_metadata(c).get("grade")
             and not course.nbgrader_metadata(c).get("solution")]
    tests[0].source = "pass"
    notebook.cells.remove(tests[1])
    notebook.cells.append(copy.deepcopy(tests[2]))
    steps, notes = steps_and_notes(source, notebook)
    assert f"read-only cell {course.grade_id(tests[0])} was changed: restored from the source" \
        in notes
    assert f"read-only cell {course.grade_id(tests[1])} was deleted: restored from the source" \
        in notes
    assert any("appears more than once" in n for n in notes)
    code, first = {s.cell_id: s.code for s in steps}, course.grade_id(tests[0])
    assert code[first] == course.cell_text(source.by_id[first])


def test_a_missing_or_retyped_solution_is_not_run(source):
    notebook = samples.honest(A)
    cell = next(c for c in notebook.cells if course.grade_id(c) == samples.STOLEN_ITEM)
    cell.cell_type = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    steps, notes = steps_and_notes(source, notebook)
    assert f"solution cell {samples.STOLEN_ITEM} was changed to markdown: not run" in notes
    assert samples.STOLEN_ITEM not in [s.cell_id for s in steps]


@pytest.mark.parametrize("data", [b"", b"\xff", b"[]", b'{"cells": 3}', b'{"nbformat": 4}'])
def test_what_is_not_a_notebook_is_refused_in_one_line(data):
    with pytest.raises(plan.InvalidNotebook, match="^not a notebook"):
        plan.read_submission(data)


def test_the_bench_reads_the_grading_time_from_the_runs_summary(tmp_path):
    """`onebyone bench grading` reads the grading phase from the summary a run prints: the two
    must stay in step (a reworded summary once left NaN in the table)."""
    import io
    import re

    from onebyone.tools.bench import grading as bench_grading
    from onebyone.tools.grading import batch

    stream = io.StringIO()
    batch._summary([], 3, 1.25, [], tmp_path, stream)
    found = re.search(bench_grading.GRADING_PHASE, stream.getvalue())
    assert found is not None, stream.getvalue()
    assert float(found.group(1)) == float(f"{1.25:.1f}")
    stream = io.StringIO()
    batch._summary([], 0, 0.0, [], tmp_path, stream)  # nothing graded now: no time to read
    assert re.search(bench_grading.GRADING_PHASE, stream.getvalue()) is None
