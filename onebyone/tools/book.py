"""The strict book build: `onebyone book [FOLDER]` (or `make book`), both editions.

Jupyter Book 1 alone is too lenient in two ways this module fixes:
- after a failed build, Sphinx's saved environment makes the next build skip the failing pages
  and pass; we delete that environment whenever a build fails, so the failure repeats;
- its execution cache keys on cell code only, so a change to the helper package would leave stale
  numbers on the pages. We record, per page, a hash of the helper-package modules the page
  imports (and the modules those import); when it changes, that page's cached execution is
  dropped and the page runs again. A prose-only edit changes no hash and runs nothing.

And it is slow in one: it runs the pages one after the other. The pages to run are run side by
side first (parallel_pages.py), so Sphinx finds them all cached.

When the book has catalogues (locale/zh_CN), the Chinese edition follows the English one into
_build/html/zh, from the same cache (translation.py).
"""

import hashlib
import io
import json
import pathlib
import re
import shutil
import subprocess
import sys

from onebyone.tools import environment, kit, parallel_pages, translation
from onebyone.tools import names as code_names

ROOT = environment.course_root()
PACKAGE = environment.PACKAGE
SOURCE_SUFFIXES = (".md", ".ipynb", ".rst")
# `from onebyone import a, b` / `from onebyone.x import y` / `import onebyone.x`
FROM_IMPORT = re.compile(r"from\s+onebyone((?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n;#]+)")
PLAIN_IMPORT = re.compile(r"import\s+onebyone((?:\.\w+)*)")
EXECUTION_CACHE = ".jupyter_cache"  # in _build/: where MyST-NB keeps the pages' executions


def toc_pages(root=ROOT):
    """Every page of the book's table of contents, in reading order: (docname, source path)."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    root = pathlib.Path(root)
    pages = []
    for docname in parse_toc_yaml(root / "_toc.yml"):
        found = [root / f"{docname}{s}" for s in SOURCE_SUFFIXES]
        found = [path for path in found if path.is_file()]
        if not found:
            raise FileNotFoundError(f"_toc.yml lists {docname}, which has no source file")
        pages.append((docname, found[0]))
    return pages


def _module_file(package, dotted):
    """The file of module `onebyone.<dotted>` inside `package`, or None."""
    base = package.joinpath(*dotted.split(".")) if dotted else package
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports_in_text(package, text):
    """The helper-package files that `import` statements in `text` load directly."""
    files = {package / "__init__.py"}
    for dotted, names in FROM_IMPORT.findall(text):
        dotted = dotted.lstrip(".")
        for name in re.split(r"[\s,()]+", names.strip(" \t()")):
            sub = f"{dotted}.{name}".lstrip(".") if name else dotted
            files.add(_module_file(package, sub) or _module_file(package, dotted))
    for dotted in PLAIN_IMPORT.findall(text):
        parts = dotted.lstrip(".").split(".") if dotted else []
        for i in range(len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
            files.add(_module_file(package, ".".join(parts[:i])))
    return {f for f in files if f is not None}


def _imports_in_module(package, path):
    """The helper-package files that module `path` imports (absolute or relative imports)."""
    tree = path.read_text(encoding="utf-8")
    here = path.relative_to(package).with_suffix("").parts
    here = here[:-1] if here[-1] == "__init__" else here
    files = set()
    for each in code_names.walk(tree).imports:
        if each.plain:
            for module in each.names:
                if (module + ".").startswith("onebyone."):
                    parts = module.split(".")[1:]
                    files.update(_module_file(package, ".".join(parts[:i]))
                                 for i in range(len(parts) + 1))
            continue
        if each.level:  # relative: climb from this module's package
            anchor = list(here[: len(here) - each.level + (path.name == "__init__.py")])
            dotted = ".".join(anchor + ([each.module] if each.module else []))
        elif each.module and (each.module + ".").startswith("onebyone."):
            dotted = each.module[len("onebyone"):].lstrip(".")
        else:
            continue
        for name in each.names:
            files.add(_module_file(package, f"{dotted}.{name}".lstrip("."))
                      or _module_file(package, dotted))
        parts = dotted.split(".") if dotted else []
        files.update(_module_file(package, ".".join(parts[:i])) for i in range(len(parts)))
    return {f for f in files if f is not None}


def page_dependencies(source, package=PACKAGE):
    """The helper-package files a page's code runs when it imports from the package."""
    text = pathlib.Path(source).read_text(encoding="utf-8")
    if "onebyone" not in text:
        return set()
    todo, seen = list(_imports_in_text(package, text)), set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(_imports_in_module(package, path) - seen)
    return seen


def dependency_hash(files, package=PACKAGE):
    """One hash over the given package files (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def package_fingerprint(package=PACKAGE):
    """A hash of every Python file of the helper package."""
    return dependency_hash(pathlib.Path(package).rglob("*.py"), package)


def forget_stale_executions(root, package=PACKAGE):
    """Drop the cached execution of every page whose helper-package code changed since it ran.

    Returns the docnames whose cache was dropped. The hashes are saved at once: whatever runs
    from now on runs with the current package, whether or not the build then succeeds.
    """
    out = pathlib.Path(root) / "_build"
    stamp = out / ".onebyone-page-deps.json"
    old = json.loads(stamp.read_text()) if stamp.is_file() else {}
    new = {docname: dependency_hash(page_dependencies(source, package), package)
           for docname, source in toc_pages(root)}
    stale = [d for d, h in new.items() if old.get(d) != h]
    cache_folder = out / EXECUTION_CACHE
    if stale and cache_folder.is_dir():
        from jupyter_cache import get_cache

        cache = get_cache(cache_folder)
        pages = {str(source.resolve()): d for d, source in toc_pages(root)}
        for record in cache.list_cache_records():
            # The cache matches notebooks by their code, whatever their path: a record left by
            # a page that moved or left the book could be matched too, so it goes as well.
            if pages.get(record.uri, stale[0]) in stale:
                cache.remove_cache(record.pk)
        # Sphinx must re-read those pages to run them: start from a fresh environment.
        shutil.rmtree(out / ".doctrees", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(new, indent=1, sort_keys=True))
    return stale


def executed_pages(root=ROOT):
    """The table of contents' pages that MyST-NB executes (and caches), and its time limit per
    page, as _config.yml's `execute` section says; no pages when it does not cache."""
    import yaml

    root = pathlib.Path(root)
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    execute = config.get("execute") or {}
    if execute.get("execute_notebooks") != "cache":
        return [], None
    patterns = execute.get("exclude_patterns") or []
    pages = [source for _, source in toc_pages(root)
             if parallel_pages.is_executed(source, patterns)]
    return pages, execute.get("timeout", 30)


def build(root=ROOT, quiet=False, package=PACKAGE):
    """Build `root`'s book into root/_build/html, strictly. Returns the finished process."""
    root = pathlib.Path(root)
    out = root / "_build"
    forget_stale_executions(root, package)
    pages, timeout = executed_pages(root)
    if pages:  # the pages run side by side first; Sphinx then reads their cached outputs
        parallel_pages.execute(out / EXECUTION_CACHE, pages, timeout,
                               stream=io.StringIO() if quiet else sys.stdout)
    command = [str(environment.env_bin() / "jupyter-book"), "build", str(root),
               "-n", "-W", "--keep-going"]
    done = subprocess.run(command, capture_output=quiet, text=True, env=environment.with_env_bin())
    if done.returncode != 0:
        # Forget the saved Sphinx environment, or the next build would pass without re-reading
        # the pages that failed.
        shutil.rmtree(out / ".doctrees", ignore_errors=True)
    if quiet:
        done.check_output = (done.stdout or "") + (done.stderr or "")
    if done.returncode == 0 and translation.catalogue_folder(root).is_dir():
        # The Chinese edition, from the same execution cache: no page runs again.
        english, done = done, translation.build_chinese(root, quiet=quiet)
        if quiet:
            done.chinese_output = done.check_output  # the Chinese build's own log
            done.check_output = english.check_output + done.check_output
    if done.returncode == 0 and (root / "pyproject.toml").is_file():
        kit.build_wheel(root, out / "html" / kit.KIT_FOLDER)  # the course's book: its student kit
    return done
