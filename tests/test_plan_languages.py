"""The grading plan's read-only-cell notes, for a submission of any language's release.

A student of the Chinese edition receives exercises/<id>/zh_CN/<id>.ipynb: its markdown is the
English release's, translated. Those cells are read-only (nbgrader's checksums), so the plan must
accept each language's copy as untouched, and still note a cell changed from both."""

import json
import pathlib

import nbformat
import pytest
from nbgrader import utils

from onebyone.tools.grading import course, plan
from tests.graded_course import ROOT, chinese_submission

ASSIGNMENTS = sorted(course.source_files(ROOT))


def _notes(source, notebook_text):
    _, notes = plan.build(source, plan.read_submission(notebook_text.encode("utf-8")))
    return notes


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_language_release_is_untouched(assignment):
    source = course.sources_of(ROOT, [assignment])[assignment]
    assert source.translated, "the Chinese release is one of the releases the plan knows"
    english = (ROOT / "exercises" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
    assert _notes(source, english) == []
    assert _notes(source, chinese_submission(assignment, {})) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS[:2])
def test_a_changed_translated_cell_is_noted(assignment):
    source = course.sources_of(ROOT, [assignment])[assignment]
    notebook = json.loads(chinese_submission(assignment, {}))
    locked = [c for c in notebook["cells"] if c["cell_type"] == "markdown"
              and utils.is_locked(nbformat.from_dict(c))
              and c["metadata"]["nbgrader"].get("grade_id")]
    assert locked, "the release has read-only markdown cells"
    cell = locked[0]
    cell["source"] = "".join(cell["source"]) + "\n改过了。"
    notes = _notes(source, json.dumps(notebook))
    assert notes == [f"read-only cell {cell['metadata']['nbgrader']['grade_id']} was changed: "
                     "restored from the source"]


def test_a_dask_worker_knows_every_language_release(tmp_path, monkeypatch):
    """What a Dask worker receives of the course rebuilds the same releases (its own folder)."""
    from onebyone.tools.grading.engines import cluster, cluster_worker

    monkeypatch.setattr(cluster_worker, "_scratch", lambda: str(tmp_path))
    payload = cluster._source_payload(ROOT, None)
    folder = cluster_worker._sources_folder(payload)
    here = course.sources_of(ROOT)
    there = course.sources_of(pathlib.Path(folder))
    assert sorted(there) == sorted(here) == ASSIGNMENTS
    for assignment in ASSIGNMENTS:
        assert len(there[assignment].translated) == len(here[assignment].translated) >= 1
        assert there[assignment].text == here[assignment].text


def test_a_sources_name_outside_the_folder_is_refused(tmp_path, monkeypatch):
    from onebyone.tools.grading.engines import cluster_worker

    monkeypatch.setattr(cluster_worker, "_scratch", lambda: str(tmp_path))
    with pytest.raises(ValueError, match="not a course path"):
        cluster_worker._sources_folder({"../escape.ipynb": b"{}"})
    assert not (tmp_path.parent / "escape.ipynb").exists()
