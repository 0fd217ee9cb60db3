"""Similar solutions worth reading: a class of honest variants of the course's real solution
cells (the instructor's and the other styles of tests/learner_styles.py) with a planted copy of
a wrong answer; the copy comes first, no group lumps the class, the index finds what comparing
all pairs finds."""

import itertools
import math
import random
import sys

import grading_samples as samples
import pytest
from learner_styles import STYLES

from onebyone.tools.bench import similarity as bench
from onebyone.tools.term import similarity_index as index

CELLS = sorted(STYLES)


def _class(assignment, cell, size, seed):
    """{student: code}: honest variants of every style of the cell, round robin, and the
    planted copy (copier_a, copier_b) of a wrong answer; and the released code."""
    code, released = bench.solution_code(assignment, cell, samples.ROOT)
    styles = [code] + list(STYLES[(assignment, cell)].values())
    rng = random.Random(seed)
    codes = {f"s{i:03d}": bench.honest_variant(styles[i % len(styles)], rng)
             for i in range(size - 2)}
    copied = bench.wrong(bench.honest_variant(rng.choice(styles), rng))
    codes["copier_a"], codes["copier_b"] = copied, bench.disguise(copied, released, rng)
    return codes, released


def _members(group):
    return {p.first for p in group} | {p.second for p in group}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("assignment, cell", CELLS, ids=[c for _, c in CELLS])
def test_a_planted_copy_of_a_wrong_answer_comes_first(assignment, cell, seed):
    codes, released = _class(assignment, cell, 40, seed)
    pairs = index.similar_pairs(codes, released)
    assert (pairs[0].first, pairs[0].second) == ("copier_a", "copier_b")
    assert pairs[0].score == pytest.approx(1.0)
    groups = index.groups_of(pairs)
    assert _members(groups[0]) == {"copier_a", "copier_b"}
    assert all(len(_members(g)) <= index.COMMON for g in groups)
    # the copied mistake is among the lines matched on both sides: what the reader is shown
    for key, lines in (("copier_a", pairs[0].first_lines), ("copier_b", pairs[0].second_lines)):
        mistake = next(n for n, line in enumerate(codes[key].splitlines(), 1)
                       if "* 0.5" in line or "*0.5" in line)  # bench.wrong's line
        assert mistake in lines, key


def test_a_class_of_one_natural_short_answer_is_not_one_group():
    """The issue's case: 28 of 30 hand in the same short correct answer (nothing to read); two
    copy a wrong one. Only the copy is flagged."""
    code, released = bench.solution_code("one-by-one", "conv1x1", samples.ROOT)
    codes = {f"s{i:02d}": code for i in range(28)}
    mistake = code.replace("einsum", "tensordot") + "\n    result = result.T\n    return result"
    codes["copier_a"] = mistake
    codes["copier_b"] = mistake.replace("result", "out") + "  # my own"
    pairs = index.similar_pairs(codes, released)
    assert [(p.first, p.second) for p in pairs] == [("copier_a", "copier_b")]


def test_names_comments_layout_and_own_attribute_names_do_not_matter():
    code, released = bench.solution_code("resnet-bottleneck", "PreActBottleneck", samples.ROOT)
    disguised = bench.disguise(code, released, random.Random(0))
    assert disguised != code
    assert [t for t, _ in index.tokens(disguised)] == [t for t, _ in index.tokens(code)]
    # an attribute the cell sets on self is the student's name for a part: renaming it is
    # no change; an attribute it only reads (nn.Conv2d, x.mean) is an API, kept
    renamed = code.replace("self.body", "self.main_path").replace("self.projection", "self.skip")
    assert [t for t, _ in index.tokens(renamed)] == [t for t, _ in index.tokens(code)]
    other_api = code.replace("nn.BatchNorm2d", "nn.GroupNorm")
    assert [t for t, _ in index.tokens(other_api)] != [t for t, _ in index.tokens(code)]


def test_the_code_handed_out_is_never_evidence():
    _, stub = bench.solution_code("one-by-one", "conv1x1", samples.ROOT)
    codes = {f"blank{i}": stub for i in range(3)}
    assert index.similar_pairs(codes, stub) == []
    assert index.similar_pairs(codes, "") != []  # with the release kept in they would match


def test_the_index_finds_what_comparing_all_pairs_finds():
    """Two ways: the inverted index's candidate pairs, and every pair scored the same way."""
    codes, released = _class("resnet-bottleneck", "PreActBottleneck", 120, seed=7)
    built = index.Index(released)
    for key, code in sorted(codes.items()):
        built.add(key, code)
    documents = built.documents
    weight = {v: built.weight(v) for v in built.postings}
    own = [sum(weight[v] for v in d.positions) for d in documents]
    brute = []
    for (i, a), (j, b) in itertools.combinations(enumerate(documents), 2):
        shared = [v for v in a.positions if v in b.positions and weight[v] > 0]
        # (a fingerprint both hold is held by 2 or more: only those are candidates' evidence)
        if len(shared) >= index.MIN_SHARED and own[i] and own[j]:
            score = sum(weight[v] for v in shared) / min(own[i], own[j])
            if score >= index.THRESHOLD:
                brute.append((a.key, b.key, round(min(score, 1.0), 9)))
    found = [(p.first, p.second, round(p.score, 9)) for p in built.pairs()]
    assert sorted(found) == sorted(brute) and found
    n = len(documents)
    assert len(built.candidates()) < n * (n - 1) / 2 / 4  # far from all pairs


def test_a_fingerprint_the_class_shares_is_no_evidence():
    codes, released = _class("resnet-bottleneck", "PreActBottleneck", 60, seed=3)
    built = index.Index(released)
    for key, code in sorted(codes.items()):
        built.add(key, code)
    held = {v: len(d) for v, d in built.postings.items()}
    assert any(h > index.COMMON for h in held.values())  # the class's idioms exist...
    for value, count in held.items():  # ...and weigh nothing; the rarer, the more
        expected = 0.0 if count > index.COMMON else math.log(60 / count)
        assert built.weight(value) == pytest.approx(expected, abs=1e-6)


def test_winnowing_keeps_the_rightmost_minimum_of_every_window():
    """The one-pass queue against the definition (Schleimer et al., fig. 2), ties included."""
    rng = random.Random(5)
    for _ in range(200):
        hashes = [rng.randint(0, 6) for _ in range(rng.randint(0, 30))]
        for window in (1, 2, 4, 7):
            expected = {}
            if len(hashes) < window:
                expected = dict(enumerate(hashes))
            for start in range(len(hashes) - window + 1):
                part = hashes[start:start + window]
                low = min(part)
                expected[start + max(i for i, h in enumerate(part) if h == low)] = low
            assert index.winnow(hashes, window) == expected


def test_groups_stop_growing_before_they_lump_a_class():
    chain = [index.Pair(f"s{i}", f"s{i + 1}", 1.0, frozenset(), frozenset(), 100.0 - i, 5)
             for i in range(30)]
    groups = index.groups_of(chain, largest=4)
    assert max(len(_members(g)) for g in groups) == 4
    assert sorted((p.first, p.second) for g in groups for p in g) == sorted(
        (p.first, p.second) for p in chain)  # no pair is lost
    assert _members(groups[0]) == {"s0", "s1", "s2", "s3"}  # the strongest pairs first


def test_unparsable_and_empty_cells_are_compared_without_failing():
    codes = {"a": "def f(:\n  return 1 +", "b": "", "c": "x = (", "d": "def f(:\n  return 1 +"}
    assert index.similar_pairs(codes) == []  # too little code to tell anything
    assert sys.getrecursionlimit()  # and nothing raised


def test_the_class_reports_case_flags_the_near_copy_only():
    """The class report's own case (tests/test_report.py): the solution, a near copy of it
    (names, comments, layout changed), three other correct answers and two blank stubs."""
    code, stub = bench.solution_code("one-by-one", "conv1x1", samples.ROOT)
    answers = {"ann": code, "ben": samples.CONV_NEAR_COPY, "cat": samples.CONV_TENSORDOT,
               "dan": samples.CONV_LOOPS, "eve": samples.CONV_MATMUL,
               "left_blank_1": stub, "left_blank_2": stub}
    pairs = index.similar_pairs(answers, stub)
    assert [(p.first, p.second, p.score) for p in pairs] == [("ann", "ben", 1.0)]


def test_the_honest_variants_are_python_and_differ():
    for assignment, cell in CELLS:
        codes, _ = _class(assignment, cell, 40, seed=11)
        for key, code in codes.items():
            compile(code, key, "exec")  # every variant is code a student could hand in
        assert len(set(codes.values())) == len(codes)


def test_the_collector_is_back_as_it_was_after_a_check():
    import gc

    assert gc.isenabled()
    index.similar_pairs({"a": "x = 1", "b": "x = 2"})
    assert gc.isenabled()
    gc.disable()
    try:
        with index.collector_paused():
            pass
        assert not gc.isenabled()  # it was off: it stays off
    finally:
        gc.enable()
