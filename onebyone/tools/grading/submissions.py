"""Finding the submissions: nbgrader's submitted layout `<student>/<assignment>/<assignment>.ipynb`,
in a folder or in a .zip holding that layout (unpacked safely first)."""

import hashlib
import pathlib
import stat
import zipfile

from onebyone.tools.grading.result import Job

MAX_ZIP_BYTES = 2 << 30  # a class's notebooks are megabytes; more is a zip bomb
MAX_ZIP_FILE_BYTES = 256 << 20
MAX_ZIP_FILES = 100_000
IGNORED = {".ipynb_checkpoints", "__MACOSX", ".DS_Store"}


class BadSubmissions(Exception):
    """The submissions cannot be read at all (the message says why)."""


def _safe_member(name):
    """The member's path parts if it stays inside the target folder, else None."""
    path = pathlib.PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or any(part in ("..", "") for part in path.parts[1:]) \
            or ".." in path.parts or ":" in name:
        return None
    return path.parts


def unpack(zip_path: pathlib.Path, target: pathlib.Path) -> list[str]:
    """Unpack `zip_path` into `target` without leaving it: no absolute or `..` paths, no links,
    size limits. Returns the skipped members (with the reason) for the summary."""
    skipped, total = [], 0
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise BadSubmissions(f"{zip_path} is not a readable zip file: {error}") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_FILES:
            raise BadSubmissions(f"{zip_path} holds {len(members)} files (limit {MAX_ZIP_FILES})")
        for member in members:
            parts = _safe_member(member.filename)
            mode = member.external_attr >> 16
            if parts is None:
                skipped.append(f"{member.filename}: path leaves the folder")
                continue
            if stat.S_ISLNK(mode):
                skipped.append(f"{member.filename}: links are not unpacked")
                continue
            if member.is_dir():
                continue
            if member.file_size > MAX_ZIP_FILE_BYTES:
                skipped.append(f"{member.filename}: larger than {MAX_ZIP_FILE_BYTES >> 20} MB")
                continue
            total += member.file_size
            if total > MAX_ZIP_BYTES:
                raise BadSubmissions(f"{zip_path} unpacks to more than {MAX_ZIP_BYTES >> 30} GB")
            destination = target.joinpath(*parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(destination, "wb") as out:
                written = 0
                while chunk := source.read(1 << 20):
                    written += len(chunk)
                    if written > MAX_ZIP_FILE_BYTES:  # the header lied about the size
                        raise BadSubmissions(f"{member.filename} is larger than it claims")
                    out.write(chunk)
    return skipped


def root_of(folder: pathlib.Path) -> pathlib.Path:
    """The folder holding the student folders: `folder`, or its only subfolder when a zip
    wrapped the layout in one more level (e.g. `submitted/`)."""
    entries = [p for p in folder.iterdir() if p.name not in IGNORED]
    if len(entries) == 1 and entries[0].is_dir() and entries[0].name == "submitted":
        return entries[0]
    return folder


def content_key(path: pathlib.Path | None, extra: str) -> str:
    """A hash of a file's bytes and of `extra` (the source notebook, limits): equal keys mean an
    earlier result still holds."""
    digest = hashlib.sha256(extra.encode("utf-8"))
    if path is not None:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def find(root: pathlib.Path, assignments: list[str] | None = None) -> list[Job]:
    """Jobs for every `<student>/<assignment>/` folder (sorted), with a problem when the notebook
    is missing or misnamed. `assignments` limits the search to these ids."""
    jobs = []
    students = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in IGNORED
                      and not p.name.startswith("."))
    for student in students:
        for folder in sorted(p for p in student.iterdir() if p.is_dir()
                             and p.name not in IGNORED and not p.name.startswith(".")):
            if assignments and folder.name not in assignments:
                continue
            notebook = folder / f"{folder.name}.ipynb"
            if notebook.is_file():
                jobs.append(Job(student.name, folder.name, notebook=str(notebook)))
                continue
            others = sorted(p.name for p in folder.glob("*.ipynb"))
            note = f"expected {notebook.name}" + (f"; found {', '.join(others)}" if others
                                                  else "; found none")
            jobs.append(Job(student.name, folder.name, problem="missing notebook", notes=(note,)))
    return jobs
