"""A graded submission as a typed value: made by the runner in a worker, sent to the main process,
written to the journal, the gradebook, the feedback page and the tables.

The journal stores `Result.to_json()`; `Result.from_json` reads it back (an older or damaged line
raises ValueError and is graded again).
"""

import dataclasses
import enum
import hashlib
import pathlib


@dataclasses.dataclass(frozen=True)
class Job:
    """One submission to grade, as found on disk (submissions.find) and handed to an engine."""

    student: str
    assignment: str
    notebook: str | None = None  # its path on this machine; None when it cannot be graded
    problem: str | None = None  # a Status value when it cannot be graded (a missing notebook)
    notes: tuple = ()  # why, in a few words
    key: str = ""  # the content key (batch.py): an earlier result with the same key still holds
    data: bytes | None = None  # the notebook's bytes, while it travels to a Dask worker

    @property
    def who(self) -> tuple:
        return self.student, self.assignment


class Status(str, enum.Enum):
    """How a submission's grading ended; only GRADED is normal."""

    GRADED = "graded"
    INVALID_NOTEBOOK = "invalid notebook"
    MISSING_NOTEBOOK = "missing notebook"
    UNKNOWN_ASSIGNMENT = "unknown assignment"
    TIMED_OUT = "timed out"
    MEMORY_LIMIT = "memory limit"
    KERNEL_DIED = "kernel died"
    TAMPERING = "tampering detected"
    GRADER_ERROR = "grader error"
    NOT_SUBMITTED = "not submitted"  # a roster student with no submission (term/class_run.py)

    def __str__(self):
        return self.value


@dataclasses.dataclass
class ItemResult:
    """One test cell: its points and, when it failed, the message for the student."""

    grade_id: str
    score: float
    max_score: float
    message: str
    description: str = ""

    @property
    def passed(self):
        return self.max_score > 0 and self.score >= self.max_score


@dataclasses.dataclass
class Result:
    """One student's one assignment, graded (or why not)."""

    student: str
    assignment: str
    key: str  # the content key: an earlier result with the same key still holds
    status: Status
    notes: list
    items: list  # of ItemResult
    max_score: float = 0.0
    seconds: float = 0.0
    # nbgrader's late penalty, read back from the gradebook after every run (term/class_run.py)
    late_penalty: float = 0.0
    # the language of the submitted notebook (language.py): its feedback page speaks it
    language: str = "en"

    @property
    def score(self) -> float:
        return sum(item.score for item in self.items)

    @property
    def final_score(self) -> float:
        """The score after the late penalty, never below 0 (as `nbgrader export` gives it)."""
        return max(0.0, self.score - self.late_penalty)

    @property
    def normal(self) -> bool:
        return self.status is Status.GRADED

    def to_json(self) -> dict:
        document = dataclasses.asdict(self)
        document.update(status=self.status.value, score=self.score)
        return document

    @classmethod
    def grader_error(cls, job: Job, sources: dict, note: str) -> "Result":
        """The result of a submission the grader failed on (its fault, not the student's)."""
        source = sources.get(job.assignment)
        return cls(job.student, job.assignment, job.key, Status.GRADER_ERROR,
                   notes=[note], items=[], max_score=source.max_score() if source else 0.0)

    @classmethod
    def from_json(cls, document: dict) -> "Result":
        try:
            fields = {f.name for f in dataclasses.fields(cls)}
            values = {k: v for k, v in document.items() if k in fields}
            values["status"] = Status(values["status"])
            values["items"] = [ItemResult(**item) for item in values["items"]]
            return cls(**values)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a result: {error}") from None


def code_fingerprint() -> str:
    """A hash of the package's code (course library, checks, grader): part of every content key,
    so a change to how anything is graded or checked makes earlier results stale by itself."""
    package = pathlib.Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
