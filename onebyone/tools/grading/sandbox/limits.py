"""What one submission may use (read by the command line, the engines and the student process)."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one submission may use. Memory is the address-space cap (RLIMIT_AS) of its process:
    importing torch alone takes ~0.7 GB of address space, so the default leaves ~1.3 GB to spare.
    `fence`: False only with `onebyone grade --no-fence` (student code then runs as the grader's
    user, seeing what that user sees; its memory still holds no secret)."""

    seconds: float = 60.0  # wall-clock budget for the whole submission (cells and tests)
    item_seconds: float | None = None  # each test cell's share; None: seconds / test cells
    memory_mb: int = 2048
    file_mb: int = 64  # largest file the student's code may write in its folder
    message_mb: int = 64  # largest result that may cross to the grader
    fence: bool = True
