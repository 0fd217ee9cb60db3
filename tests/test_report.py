"""The instructor's view of a class: the class report (OUT/report.html), its similarity check,
the time budget per test cell, and feedback pages that read well.

One small class of one-by-one is graded once (two workers): honest answers written four
different ways, a planted near-copy of one of them (same code, names, comments and layout
changed), a conv1x1 that never returns, the same notebook with conv1x1 left blank, and a file
that is not a notebook."""

import base64
import html.parser
import re
import xml.etree.ElementTree

import grading_samples as samples
import numpy as np
import pytest
import torch.nn as nn

from onebyone.checks import resnet_bottleneck
from onebyone.tools import cli
from onebyone.tools.grading import batch, runner, sandbox
from onebyone.tools.grading.outputs import chart, feedback, report
from onebyone.tools.grading.result import ItemResult, Result, Status
from onebyone.tools.term import similarity_index as similarity

A = samples.ASSIGNMENT
TIMEOUT = 16  # seconds per submission, shared among its test cells


def hang_message():
    """What a test cell that runs out of its share of TIMEOUT is told."""
    source = batch.sources_of(samples.ROOT, [A])[A]
    share = runner.item_seconds(sandbox.Limits(seconds=TIMEOUT), len(source.tests()))
    return f"timed out after {runner.seconds_text(share)} s"

CONV_TESTS = samples.CONV_TESTS

EINSUM = samples.solution_code(A, "conv1x1")
NEAR_COPY, TENSORDOT, LOOPS, MATMUL, HANGS = (
    samples.CONV_NEAR_COPY, samples.CONV_TENSORDOT, samples.CONV_LOOPS, samples.CONV_MATMUL,
    samples.CONV_HANGS)
ANSWERS = {"ann": EINSUM, "ben": NEAR_COPY, "cat": TENSORDOT, "dan": LOOPS, "eve": MATMUL,
           "hang": HANGS, "blank": ""}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    folder, out = base / "submitted", base / "out"
    notebooks = {s: samples.dumps(samples.set_code(samples.honest(A), "conv1x1", code))
                 for s, code in ANSWERS.items()}
    notebooks["broken"] = "not a notebook"
    samples.write_class(folder, A, notebooks)
    code = cli.main(["grade", str(folder), "--out", str(out), "--jobs", "2", "--timeout",
                     str(TIMEOUT), "--assignment", A])
    return dict(out=out, folder=folder, code=code,
                page=(out / "report.html").read_text(encoding="utf-8"))


class _Resources(html.parser.HTMLParser):
    """What a page loads (as opposed to links a reader may follow)."""

    def __init__(self):
        super().__init__()
        self.loaded, self.images, self.tags = [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.images.append(attrs)
        for name in ("src", "srcset", "data", "poster") + (("href",) if tag == "link" else ()):
            if attrs.get(name):
                self.loaded.append(attrs[name])


def test_the_report_is_self_contained_with_alt_text(graded):
    page = graded["page"]
    found = _Resources()
    found.feed(page)
    assert not found.tags & {"script", "link", "iframe", "object", "embed"}
    assert all(src.startswith("data:image/svg+xml;base64,") for src in found.loaded), \
        found.loaded
    assert found.images and all(len(i.get("alt", "")) > 40 for i in found.images)
    assert "url(" not in page and "@import" not in page
    # the alt text says what the chart shows, computed from the scores
    table = samples.read_csv(graded["out"] / "grades.csv")
    scores = sorted(float(r["score"]) for r in table)
    assert f"Histogram of the scores of {len(table)} submission(s)" in found.images[0]["alt"]
    assert f"lowest {min(scores):g}, highest {max(scores):g}" in found.images[0]["alt"]


def _bars(uri):
    """(count, height) of each bar of a chart's SVG data: URI."""
    svg = base64.b64decode(uri.removeprefix("data:image/svg+xml;base64,")).decode()
    tree = xml.etree.ElementTree.fromstring(svg)
    return [(int(bar.get("data-count")), float(bar.get("height")))
            for bar in tree.iter("{http://www.w3.org/2000/svg}rect") if bar.get("class") == "bar"]


@pytest.mark.parametrize("max_score", [1, 10, 37, 120])
def test_the_chart_draws_what_numpy_counts_and_bars_grow_with_their_counts(max_score):
    generator = np.random.default_rng(max_score)
    scores = [float(s) for s in generator.integers(0, max_score + 1, size=60)]
    scores += [float(max_score)] * 3 + [0.0]  # both ends: the last bin holds its right edge
    uri, alt = report.score_chart(scores, max_score, "a <title> & more")
    expected, _ = np.histogram(scores, bins=chart.bins(max_score))
    bars = _bars(uri)
    assert [c for c, _ in bars] == [int(c) for c in expected if c]
    assert sum(c for c, _ in bars) == len(scores)
    per_submission = {round(height / count, 6) for count, height in bars}
    assert len(per_submission) == 1  # every bar's height is its count times the same scale
    assert f"of {len(scores)} submission(s)" in alt


def test_the_report_counts_who_earned_each_test_and_why_others_did_not(graded):
    page = graded["page"]
    items = samples.read_csv(graded["out"] / "items.csv")
    earned = sum(float(r["score"]) == float(r["max_score"]) for r in items
                 if r["grade_id"] == "test_conv1x1_public")
    assert f"{earned} of {len(ANSWERS) + 1}" in page
    assert hang_message() in page  # the hang's failure, in the grader's words
    assert "name &#39;conv1x1&#39; is not defined" in page  # the blank one's
    assert "broken" in page.split('id="trouble"')[1] and "invalid notebook" in page


def test_a_planted_near_copy_is_flagged_and_honest_answers_are_not(graded):
    source = batch.sources_of(samples.ROOT, [A])[A]
    notebooks = {s: graded["folder"] / s / A / f"{A}.ipynb" for s in [*ANSWERS, "broken"]}
    cells = {cell.grade_id: cell for cell in report.similar_cells(source, notebooks)}
    flagged = [(p.first, p.second, p.score) for p in cells["conv1x1"].pairs]
    assert flagged == [("ann", "ben", 1.0)]
    assert "ann, ben: up to 100% alike" in graded["page"]


def test_winnowing_ignores_names_comments_layout_and_the_released_code():
    released = samples.release_notebook(A).cells
    stub = next(c.source for c in released if samples._gid(c) == "conv1x1")
    answers = {"ann": EINSUM, "ben": NEAR_COPY, "cat": TENSORDOT, "dan": LOOPS, "eve": MATMUL,
               "left_blank_1": stub, "left_blank_2": stub}
    pairs = similarity.similar_pairs(answers, stub)
    assert [(p.first, p.second) for p in pairs] == [("ann", "ben")]
    # the same tokens once names, strings, numbers and comments are normalised
    assert [t for t, _ in similarity.tokens(EINSUM)] == [t for t, _ in similarity.tokens(NEAR_COPY)]
    # and with the release kept in, the stubs alone would match each other
    assert similarity.similar_pairs({"a": stub, "b": stub}, "") != []


def test_a_hang_in_one_item_costs_exactly_that_items_points(graded):
    rows = {r["student_id"]: r for r in samples.read_csv(graded["out"] / "grades.csv")}
    items = {(r["student_id"], r["grade_id"]): r for r in
             samples.read_csv(graded["out"] / "items.csv")}
    assert rows["hang"]["status"] == "graded"
    expected = samples.reference_scores(samples.set_code(samples.honest(A), "conv1x1", ""), A)
    blank_score = sum(expected.values())
    assert 0 < blank_score < 10  # the other items still earn their points
    assert float(rows["hang"]["score"]) == float(rows["blank"]["score"]) == blank_score
    for grade_id, points in expected.items():
        assert float(items[("hang", grade_id)]["score"]) == points, grade_id
    for grade_id in CONV_TESTS:
        assert items[("hang", grade_id)]["message"] == hang_message()
    assert "restarted" in rows["hang"]["note"]


def test_every_run_writes_the_report(graded, capsys):
    (graded["out"] / "report.html").unlink()
    cli.main(["grade", str(graded["folder"]), "--out", str(graded["out"]), "--jobs", "1",
              "--timeout", str(TIMEOUT), "--assignment", A])
    assert "0 now" in capsys.readouterr().err  # nothing graded again...
    assert (graded["out"] / "report.html").read_text(encoding="utf-8") == graded["page"]


def test_failures_differing_only_in_numbers_are_grouped():
    messages = ["conv1x1: expected shape (1, 3, 2, 2), got (1, 2, 2, 2).",
                "conv1x1: expected shape (2, 5, 4, 4), got (2, 3, 4, 4).",
                "conv1x1: expected shape (1, 3, 2, 2), got (1, 2, 2, 2).",
                "conv1x1: the values are wrong.\nIt looks like the bias is missing."]
    assert report.common_failures(messages) == [
        ("conv1x1: expected shape (1, 3, 2, 2), got (1, 2, 2, 2).", 3, 2),
        ("conv1x1: the values are wrong.\nIt looks like the bias is missing.", 1, 1)]


def test_alike_pairs_form_groups():
    pair = similarity.Pair
    pairs = [pair("a", "b", 1.0, frozenset(), frozenset()),
             pair("b", "c", 0.9, frozenset(), frozenset()),
             pair("d", "e", 0.85, frozenset(), frozenset())]
    groups = similarity.groups_of(pairs)
    assert [[(p.first, p.second) for p in g] for g in groups] == [
        [("a", "b"), ("b", "c")], [("d", "e")]]


class _PostActivationEnd(nn.Module):
    """A pre-activation bottleneck that keeps the original block's last batch norm and forgets
    the shortcut's projection."""

    def __init__(self, in_channels, mid_channels, out_channels, stride=1):
        super().__init__()
        self.pre = nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU())
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 1, bias=False), nn.BatchNorm2d(mid_channels),
            nn.ReLU(), nn.Conv2d(mid_channels, mid_channels, 3, stride, 1, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(),
            nn.Conv2d(mid_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x):
        return self.body(self.pre(x))


def _text(fragment):
    """Visible text of an HTML fragment (tags dropped, entities decoded)."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_feedback_on_a_structural_check_shows_the_diagnosis_first_in_full():
    with pytest.raises(AssertionError) as failure:
        # the public test's stride-2 case (the kit holds the reference's outputs for its inputs)
        resnet_bottleneck.preact_bottleneck(_PostActivationEnd, 6, 4, 6, stride=2, size=(7, 6),
                                            seed=1)
    # a long measurement after it, as array comparisons give: the page must cut it, visibly
    long_detail = "Off by up to 0.5 at index " + ", ".join(str(i) for i in range(300))
    message = runner.failure_message(failure.value) + "\n" + long_detail
    diagnosis = "In the pre-activation block nothing normalises the block's output"
    assert diagnosis in message and len(message) > feedback.SHOWN_CHARS + 200
    test_id = "test_PreActBottleneck_public"
    result = Result("ann", "resnet-bottleneck", "key", Status.GRADED, [],
                    [ItemResult(test_id, 0.0, 1.0, message, "Public tests for PreActBottleneck")])
    source = batch.sources_of(samples.ROOT, ["resnet-bottleneck"])["resnet-bottleneck"]
    page = feedback.page(result, source)
    section = page.split(f'id="{test_id}"')[1].split("</section>")[0]
    shown, hidden = section.split("<details>")
    headline, hint = message.splitlines()[:2]
    assert hint.startswith(diagnosis)
    # the diagnosis comes first, whole, with its line break; the measurements after it, cut
    first_block = _text(shown.split('class="message diagnosis">')[1].split("</div>")[0])
    assert first_block == f"{headline}\n{hint}"
    assert _text(shown).index(hint) < _text(shown).index("Missing from yours")
    assert "…" in _text(shown) and long_detail not in _text(shown)
    assert message in _text(hidden)  # the whole message, in the collapsible block
    # each test links to the task it covers and the chapter that teaches it
    assert "resnet-bottleneck.html#the-pre-activation-bottleneck" in section
    assert "chapters/resnet-bottleneck.html" in page
