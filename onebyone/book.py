"""The strict book build: `python -m onebyone.book build [ROOT]`.

Jupyter Book 1 alone is too lenient in two ways this module fixes:
- after a failed build, Sphinx's saved environment makes the next build skip the failing pages
  and pass; we delete that environment whenever a build fails, so the failure repeats;
- its execution cache keys on cell code only, so a change to the helper package would leave stale
  numbers on the pages; we clear the cache when the package's source changes.
"""

import hashlib
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = pathlib.Path(__file__).resolve().parent


def package_fingerprint():
    """A hash of every Python file of the helper package: what the chapters' results depend on."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build(root=ROOT, quiet=False):
    """Build `root`'s book into root/_build/html, strictly. Returns the exit code."""
    root = pathlib.Path(root)
    out = root / "_build"
    stamp = out / ".onebyone-package-hash"
    fingerprint = package_fingerprint()
    if stamp.exists() and stamp.read_text() != fingerprint:
        shutil.rmtree(out / ".jupyter_cache", ignore_errors=True)
        shutil.rmtree(out / ".doctrees", ignore_errors=True)
    command = [str(pathlib.Path(sys.executable).parent / "jupyter-book"), "build", str(root),
               "-n", "-W", "--keep-going"]
    done = subprocess.run(command, capture_output=quiet, text=True)
    if done.returncode != 0:
        # Forget the saved Sphinx environment, or the next build would pass without re-reading
        # the pages that failed.
        shutil.rmtree(out / ".doctrees", ignore_errors=True)
        stamp.unlink(missing_ok=True)
    else:
        stamp.write_text(fingerprint)
    if quiet:
        done.check_output = (done.stdout or "") + (done.stderr or "")
    return done


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "build" or len(argv) > 2:
        print("usage: python -m onebyone.book build [BOOK_FOLDER]", file=sys.stderr)
        return 2
    done = build(argv[1] if len(argv) == 2 else ROOT)
    if done.returncode != 0:
        print("\nThe book build failed: see the warnings and errors above.", file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
