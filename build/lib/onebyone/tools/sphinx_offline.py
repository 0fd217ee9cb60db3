"""A Sphinx extension that makes the built site work with no network (`sphinx: extra_extensions`).

Jupyter Book 1 is built for a connected reader: it loads MathJax from a CDN and adds sphinx-thebe's
scripts (which point at another CDN, and declare the same `const` twice, a console error on every
page). This extension
- copies MathJax 3 from a pinned Python package (`django-static-mathjax`, which ships the official
  MathJax distribution and needs no Django) into `_static/mathjax/`, so `mathjax_path` can be
  local;
- removes sphinx-thebe's scripts and per-page configuration (launch buttons and thebe are off);
- adds the course's own CSS (`onebyone/static/onebyone.css`), sets the theme's default
  light/dark mode to "auto" (the theme's empty default logs a console error) and removes the
  duplicate search bar pydata-sphinx-theme 0.17 adds above sphinx-book-theme's pages;
- warns, which fails the strict build, about any page that would still load a script, a
  stylesheet, an image or a frame from another host.
"""

import json
import pathlib
import re
import shutil

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

STATIC = pathlib.Path(__file__).resolve().parent / "static"
# src=/href= values that make the browser fetch something when the page loads (links <a> do not).
LOADING_TAG = re.compile(r"<(script|img|iframe|link|source|video|audio|embed)\b[^>]*>", re.I)
LOADING_REL = re.compile(
    r"""\brel\s*=\s*["']?[^"'>]*\b(stylesheet|icon|preload|modulepreload|prefetch|manifest)""",
    re.I)
REMOTE_URL = re.compile(r"""\b(?:src|href|srcset|data)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""",
                        re.I)


def mathjax_folder():
    """MathJax's browser files (`es5/`) as installed by the pinned `django-static-mathjax`."""
    try:
        import mathjax  # the module of the django-static-mathjax distribution
    except ImportError as error:
        raise ExtensionError("MathJax is not installed: `make env` installs django-static-mathjax "
                             "from pyproject.toml") from error
    folder = pathlib.Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (folder / "tex-mml-chtml.js").is_file():
        raise ExtensionError(f"no MathJax browser files in {folder}")
    return folder


def copy_mathjax(app, exception):
    """Copy MathJax into the site (once per MathJax version: it is 24 MB and never changes)."""
    if app.builder.format != "html":
        return
    source = mathjax_folder()
    version = json.loads((source.parent / "package.json").read_text())["version"]
    target = pathlib.Path(app.outdir) / "_static" / "mathjax"
    stamp = target / ".version"
    if stamp.is_file() and stamp.read_text() == version:
        return
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    shutil.copy(source.parent / "LICENSE", target / "LICENSE")
    stamp.write_text(version)


def drop_thebe_nodes(app, doctree, docname):
    """Remove sphinx-thebe's per-page binder configuration (thebe is off)."""
    for node in list(doctree.findall(nodes.raw)):
        if "x-thebe-config" in node.astext() or "kernelName =" in node.astext():
            node.parent.remove(node)


def _is_thebe(script):
    name = str(getattr(script, "filename", script) or "")
    body = getattr(script, "attributes", {}).get("body", "")
    return name.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body or "thebe@" in name


def offline_page(app, pagename, templatename, context, doctree):
    """Drop thebe's scripts from the page, then warn about anything loaded from another host."""
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe(s)]
    assets = [str(getattr(f, "filename", f)) for f in context.get("script_files", [])]
    assets += [str(getattr(f, "filename", f)) for f in context.get("css_files", [])]
    remote = [a for a in assets if "://" in a or a.startswith("//")]
    for tag in LOADING_TAG.finditer(context.get("body", "")):
        if tag.group(1).lower() == "link" and not LOADING_REL.search(tag.group(0)):
            continue  # <link rel="canonical"> and friends name a URL without loading it
        remote += [m.group(1) for m in REMOTE_URL.finditer(tag.group(0))]
    for url in remote:
        logger.warning(f"{pagename}: loads {url} from the network; the site must work offline "
                       "(serve it from _static instead)", location=pagename)


def configure(app, config):
    """Our static files; and the theme's light/dark mode.

    pydata-sphinx-theme 0.17 leaves the template variable `default_mode` empty, and its script
    then logs "Got invalid theme mode" as a console error on a reader's first visit. "auto"
    follows the reader's system setting.
    """
    config.html_static_path.append(str(STATIC))
    config.html_context.setdefault("default_mode", "auto")
    # pydata-sphinx-theme 0.17 puts a second search field in a top bar unless this is set;
    # sphinx-book-theme means it to be empty (its search is in the sidebar).
    config.html_theme_options.setdefault("navbar_persistent", [])


def setup(app):
    app.connect("config-inited", configure)
    app.add_css_file("onebyone.css")
    app.connect("doctree-resolved", drop_thebe_nodes, priority=900)  # after sphinx-thebe's
    app.connect("html-page-context", offline_page, priority=900)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
