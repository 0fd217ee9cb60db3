"""Writing a file or a folder whole: a reader (the instructor, a learning platform, another
grader on the same Dask worker) sees the old one or the new one, never half of either.

The one atomic write of the tools (a leaf: it imports nothing of the package), used for the
gradebook (grading/store/gradebook.py), the class report (grading/outputs/report.py), a Dask
worker's copy of the source notebooks (grading/engines/cluster_worker.py) and the platforms'
grade files (term/grades_out.py).
"""

import contextlib
import os
import pathlib
import shutil
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def written_whole(path: pathlib.Path, sync: bool = False) -> Iterator[pathlib.Path]:
    """Yield a partial path beside `path` (same folder, so the same file system) for the block to
    write a file or a folder at; when the block ends, it takes `path`'s place in one step
    (os.replace). `sync`: the file's bytes reach the disk first (a gradebook outlives a crash).
    If the block or the move fails, the partial one is removed and the error raised: a folder
    cannot replace a folder that is not empty (another writer came first: OSError)."""
    path = pathlib.Path(path)
    # a name of its own per writer: two writers of the same path never share a partial one
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.partial")
    try:
        yield partial
        if sync and partial.is_file():
            with open(partial, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        if partial.is_dir() and not partial.is_symlink():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        raise
