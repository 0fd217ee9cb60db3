"""The language of a submission, and the checks speaking it while that submission is graded.

A student who worked in Chinese submitted the Chinese notebook (exercises/<id>/zh_CN/<id>.ipynb,
chinese_notebooks.py): the English release's cells with the read-only Markdown in Chinese. Its
language is read from the notebook itself, never from a flag: the release whose read-only cells
the submission's copies match (nbgrader's checksums, as plan.py compares them). Cells that are the
same in every language (code, a formula) say nothing; of the others, the language most of the
student's copies match wins, English when none does (an edited or old notebook).

While a submission is graded the checks' messages (onebyone.checks.messages) are in its
language: the failure of a hidden test reads as the public tests did in the student's notebook.
The grading worker is long-lived (a pool worker, a Dask worker) and grades one submission after
another, so `speaking` puts English back when the submission ends, however it ends.
"""

import contextlib
from collections.abc import Iterator

from onebyone.tools.grading.course import Source, grade_id

ENGLISH = "en"


def _checksum(cell) -> str | None:
    import nbformat
    from nbgrader import utils

    try:
        return utils.compute_checksum(nbformat.from_dict(cell))
    except Exception:  # metadata the checksum cannot read: matches no release
        return None


def of_submission(source: Source, submission: dict) -> str:
    """The language ("en", "zh_CN") of the release whose read-only cells `submission` matches."""
    from onebyone.checks import messages

    spoken = set(messages.languages())
    releases = {ENGLISH: source.released, **{code: cells for code, cells
                                             in source.translations.items() if code in spoken}}
    if len(releases) == 1:
        return ENGLISH
    votes = dict.fromkeys(releases, 0)
    mine = {}
    for cell in submission.cells:
        gid = grade_id(cell) if isinstance(cell, dict) else None
        if gid and gid not in mine:
            mine[gid] = cell
    for gid, cell in mine.items():
        copies = {code: cells[gid] for code, cells in releases.items() if gid in cells}
        sums = {code: _checksum(copy) for code, copy in copies.items()}
        if len(set(sums.values())) < 2:
            continue  # the same in every language (or in one only): no vote
        checksum = _checksum(cell)
        for code, each in sums.items():
            if checksum is not None and checksum == each \
                    and cell.get("cell_type") == copies[code].cell_type:
                votes[code] += 1
    best = max(votes.values())
    winners = [code for code, count in votes.items() if count == best]
    return winners[0] if best and len(winners) == 1 else ENGLISH


@contextlib.contextmanager
def speaking(code: str) -> Iterator[str]:
    """The checks speak `code` inside the block, English again after it (even if it raises)."""
    from onebyone.checks import messages

    try:
        try:
            messages.language(code)
        except messages.UnknownLanguage:  # no compiled catalogue here: grade in English
            messages.language(ENGLISH)
        yield messages.language()
    finally:
        messages.language(ENGLISH)
