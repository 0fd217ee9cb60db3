"""The strict book build: the real book builds with its computed numbers; a failing cell fails."""

import html
import io
import pathlib
import re
import shutil

import torch
import yaml
from books import minimal_book

from onebyone import cost, diagrams, models
from onebyone.tools import book, parallel_pages, sphinx_offline

ROOT = book.ROOT
HTML = ROOT / "_build" / "html"


def page_text(relative):
    """The visible text of a built page, with tags stripped and spaces folded."""
    raw = (HTML / relative).read_text(encoding="utf-8")
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw)))


def test_every_toc_page_is_built(built_book):
    pages = book.toc_pages(ROOT)
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert len(pages) == len(re.findall(r"file:\s*(\S+)", toc)) + 1  # + the root page
    for docname, _ in pages:
        assert (built_book / f"{docname}.html").is_file(), f"{docname} was not built"


def test_one_by_one_chapter_shows_computed_numbers(built_book):
    text = page_text("chapters/one-by-one.html")
    assert f"squeeze takes {cost.conv_params(192, 32, 1):,} weights" in text
    assert f"or {cost.conv_params(192, 32, 1, bias=True):,} with one bias" in text
    direct = cost.conv_params(192, 32, 5)
    squeezed = cost.conv_params(192, 16, 1) + cost.conv_params(16, 32, 5)
    assert f"That is {direct:,} against {squeezed:,} weights" in text
    raw = (built_book / "chapters/one-by-one.html").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" not in text and "traceback" not in raw


def test_one_by_one_chapter_has_its_figure_with_alt_text(built_book):
    raw = (built_book / "chapters/one-by-one.html").read_text(encoding="utf-8")
    images = re.findall(r"<img[^>]*>", raw)
    assert images, "the chapter has no figure"
    for image in images:
        alt = re.search(r'alt="([^"]*)"', image)
        assert alt and len(alt.group(1)) > 20, f"image without meaningful alt text: {image}"
        src = re.search(r'src="([^"]+)"', image).group(1)
        assert (built_book / "chapters" / src).resolve().is_file()
    assert "<figcaption" in raw


def test_exercise_page_is_shown_unexecuted(built_book):
    text = page_text("exercises/one-by-one/one-by-one.html")
    assert "raise NotImplementedError ()" in text or "raise NotImplementedError()" in text
    assert "Traceback (most recent call last)" not in text  # shown as handed out, not run
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text


def test_a_failing_cell_fails_the_build_every_time(tmp_path):
    root = minimal_book(tmp_path, "Some prose.\n\n```{code-cell} ipython3\n"
                        "raise RuntimeError('this cell fails on purpose')\n```\n")
    first = book.build(root, quiet=True)
    assert first.returncode != 0
    assert "this cell fails on purpose" in first.check_output
    second = book.build(root, quiet=True)  # an incremental build must not forget the failure
    assert second.returncode != 0
    assert "this cell fails on purpose" in second.check_output


# Each page of this book is broken in its own way. The strict build must report every one of them,
# and again on the next, incremental build (Sphinx would otherwise skip the unchanged pages).
# (A failing cell stops the build at once, so it has its own book above.)
BROKEN_PAGES = {
    "broken-reference": ("See {ref}`a-label-nobody-defined`.\n", "a-label-nobody-defined"),
    "missing-image": ("![A chart that was never drawn](missing-chart.png)\n", "missing-chart.png"),
    "external-script": ('<script src="https://cdn.example.org/widget.js"></script>\n\n'
                        "Some prose.\n", "https://cdn.example.org/widget.js"),
    "remote-font": ('<link rel="stylesheet" href="https://fonts.example.org/css?family=Serif">\n',
                    "https://fonts.example.org/css?family=Serif"),
    "remote-image": ('<img src="https://images.example.org/a.png" '
                     'alt="A picture served by someone else">\n', "https://images.example.org/a.png"),
}


def test_every_broken_page_fails_the_strict_build_every_time(tmp_path):
    root = minimal_book(tmp_path, pages={name: body for name, (body, _) in BROKEN_PAGES.items()})
    # and a script from a CDN added to every page by the configuration
    config = (root / "_config.yml").read_text(encoding="utf-8")
    assert "\n  config:\n" in config
    (root / "_config.yml").write_text(config.replace(
        "\n  config:\n", '\n  config:\n    html_js_files: ["https://cdn.example.org/config.js"]\n'))
    for attempt in ("first build", "second, incremental build"):
        done = book.build(root, quiet=True)
        assert done.returncode != 0, f"the {attempt} passed"
        for name, (_, named) in BROKEN_PAGES.items():
            assert named in done.check_output, f"{name}: not reported by the {attempt}"
        assert "loads https://cdn.example.org/config.js" in done.check_output


def counting_cell(log, module):
    """A code cell that imports `module` from the helper package and logs that it ran."""
    return (f"```{{code-cell}} ipython3\nfrom onebyone import {module}\n\n"
            f"with open({str(log)!r}, 'a') as log:\n    log.write('{module}\\n')\n```\n")


def test_execution_cache_reruns_only_what_changed(tmp_path):
    """Prose edits run nothing; a helper-package change reruns the pages that import it."""
    package = tmp_path / "package"  # a copy of the helper package whose hash the build follows
    shutil.copytree(book.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    log = tmp_path / "runs.log"
    (tmp_path / "book").mkdir()
    root = minimal_book(tmp_path / "book", pages={
        "uses-layers": "Prose about layers.\n\n" + counting_cell(log, "layers"),
        "uses-data": "Prose about data.\n\n" + counting_cell(log, "data"),
    })

    def runs_during_build():
        before = log.read_text().split() if log.exists() else []
        done = book.build(root, quiet=True, package=package)
        assert done.returncode == 0, done.check_output[-3000:]
        # every page ran side by side before Sphinx, which found them all cached
        assert "Executing notebook" not in done.check_output, done.check_output[-3000:]
        return sorted(log.read_text().split()[len(before):])

    assert runs_during_build() == ["data", "layers"]  # cold: both pages run, once each
    chapter = root / "chapters/uses-layers.md"
    chapter.write_text(chapter.read_text().replace("Prose about layers.", "Edited prose."))
    assert runs_during_build() == []  # a prose-only edit runs no notebook
    assert "Edited prose." in (root / "_build/html/chapters/uses-layers.html").read_text()
    with open(package / "data.py", "a") as source:
        source.write("\n# a change to the helper package\n")
    assert runs_during_build() == ["data"]  # only the page that imports data runs again
    with open(package / "__init__.py", "a") as source:
        source.write("\n# a change every page sees\n")
    assert runs_during_build() == ["data", "layers"]


def test_page_dependencies_follow_imports_inside_the_package(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```{code-cell} ipython3\nfrom onebyone import plots\n```\n")
    names = {p.relative_to(book.PACKAGE).as_posix() for p in book.page_dependencies(page)}
    assert {"__init__.py", "plots.py", "layers.py"} <= names  # plots imports layers
    assert "cost.py" not in names and "book.py" not in names
    page.write_text("No code here.\n")
    assert book.page_dependencies(page) == set()


def test_built_pages_load_mathjax_from_the_site_and_nothing_from_a_cdn(built_book):
    pages = sorted(p for p in built_book.rglob("*.html")
                   if not any(part.startswith(".") for part in p.relative_to(built_book).parts))
    assert pages
    with_math = 0
    for page in pages:
        raw = page.read_text(encoding="utf-8")
        where = page.relative_to(built_book)
        assert "THEBE_JS_URL" not in raw and "x-thebe-config" not in raw, where
        for tag in re.findall(r"<(?:script|link|img)\b[^>]*>", raw):
            if tag.startswith("<link") and not sphinx_offline.LOADING_REL.search(tag):
                continue  # e.g. rel="canonical": names a URL, loads nothing
            assert not re.search(r"""(src|href)=["']?(https?:)?//""", tag), f"{where}: {tag}"
        for src in re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', raw, re.I):
            with_math += 1
            assert (page.parent / src.split("?")[0]).resolve().is_file(), f"{where}: {src}"
    assert with_math, "no page loads MathJax, yet the one-by-one chapter has equations"


def test_pointwise_chapter_shows_counts_and_generated_figure_texts(built_book):
    """The sixth chapter prints the counts the sources give, computed; its diagrams carry alt
    text and captions made from the modules (channel counts read from them)."""
    text = page_text("chapters/pointwise-today.html")
    v2 = cost.total_params(models.mobilenet_v2())
    assert f"The count is {v2:,} parameters" in text
    assert "glue(" not in text and "Traceback" not in text
    raw = (built_book / "chapters/pointwise-today.html").read_text(encoding="utf-8")
    figures = re.findall(r"<figure.*?</figure>", raw, re.S)
    assert len(figures) == 4
    alts = [re.search(r'<img alt="([^"]+)" src="[^"]+\.png"', f).group(1) for f in figures]
    assert all("<figcaption" in f for f in figures)
    separable = diagrams.stacks_diagram(
        {"standard 3×3 convolution": models.conv_norm_act(128, 128, 3),
         "depthwise separable": models.DepthwiseSeparable(128, 128, 3)}, (128, 56, 56))
    assert html.unescape(alts[0]) == " ".join(separable.alt.split())
    depthwise = cost.conv_mults(1, 1, 128, 128, 3, groups=128)
    assert f"3×3 depthwise conv + BN + ReLU, 128 → 128 channels, {depthwise:,} mult." in alts[0]
    assert "1×1 conv + BN, 144 → 24 channels" in alts[2]  # the linear projection
    assert "then the input is added to the output" in alts[2]
    assert alts[2].count("added to the output") == 1  # the stride-2 block adds nothing


def _mobilenet_v1_paper_cost(width_divisor=1):
    """(weights without batch norm or biases, multiplications) of MobileNet v1 at 224×224 with
    every layer's channels divided by `width_divisor`, from the formulas."""
    channels, side = 32 // width_divisor, 112
    weights = cost.conv_params(3, channels, 3)
    mults = cost.conv_mults(side, side, 3, channels, 3)
    for out, stride in models.MOBILENET_V1_LAYERS:
        out //= width_divisor
        side //= stride
        weights += cost.separable_params(channels, out, 3)
        mults += cost.separable_mults(side, side, channels, out, 3)
        channels = out
    return weights + channels * 1000, mults + channels * 1000


def test_pointwise_chapter_numbers_the_review_asked_for(built_book):
    """Review 11: SE's scaling counted, the released SqueezeNet's padded conv10, the slim
    docstring's layers, the weights at α = 0.5 and the depthwise timing's two references."""
    text = page_text("chapters/pointwise-today.html")
    assert f"plus {64 * 14 * 14:,} to scale the input" in text
    with torch.device("meta"):
        released = models.squeezenet()
        released[-1][1].padding = (1, 1)
        assert f"{cost.total_mults(released, (3, 227, 227)) / 1e9:.3f} billion" in text
    assert f"the {cost.conv_mults(112, 112, 3, 32, 3):,} counted here" in text
    assert f"a 7×7 output gives {cost.conv_mults(7, 7, 1024, 1024, 3, groups=1024):,}" in text
    full, half = _mobilenet_v1_paper_cost(), _mobilenet_v1_paper_cost(2)
    assert round(half[1] / 1e6) == 149 and round(half[0] / 1e5) == 13   # the paper's Table 6
    assert f"The weights fall less, {full[0] / half[0]:.2f} times" in text
    blocks = sum(n for _, _, n, _ in models.MOBILENET_V2_STAGES)
    assert f"its Table 2 adds up to {blocks} blocks" in text
    assert "project them down again, to 24 and to 32" in text
    assert "Stored channels last, the same layer took" in text
    assert "as the count of numbers moved predicts" not in text


def test_every_figure_on_a_chapter_shows_an_image_with_alt_text(built_book):
    """A numbered figure holds a loadable image with alt text, not a text placeholder."""
    for page in sorted((built_book / "chapters").glob("*.html")):
        raw = page.read_text(encoding="utf-8")
        for figure in re.findall(r"<figure.*?</figure>", raw, re.S):
            image = re.search(r"<img[^>]*>", figure)
            assert image, f"{page.name}: a figure without an image: {figure[:300]}"
            alt = re.search(r'alt="([^"]*)"', image.group(0))
            assert alt and len(alt.group(1)) > 20, f"{page.name}: {image.group(0)[:200]}"
            assert "&lt;Figure size" not in figure


def test_the_pages_run_before_sphinx_are_the_ones_myst_nb_executes():
    pages, timeout = book.executed_pages(ROOT)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["execute"]
    assert timeout == config["timeout"]
    with_code = [source for _, source in book.toc_pages(ROOT)
                 if source.suffix == ".md" and "```{code-cell}" in source.read_text("utf-8")]
    assert pages == with_code and len(pages) >= 6  # every chapter with code, in reading order
    assert not any(source.suffix == ".ipynb" for source in pages)  # exercises: shown unexecuted


def test_a_page_that_fails_before_sphinx_is_run_and_reported_by_sphinx(tmp_path, capfd):
    root = minimal_book(tmp_path, pages={
        "fine": "```{code-cell} ipython3\nprint(6 * 7)\n```\n",
        "then-fails": "```{code-cell} ipython3\nraise ValueError('a cell that fails')\n```\n",
    })
    pages, timeout = book.executed_pages(root)
    failed = parallel_pages.execute(root / "_build" / book.EXECUTION_CACHE, pages, timeout,
                                    stream=io.StringIO())
    assert [pathlib.Path(uri).name for uri in failed] == ["then-fails.md"]
    assert "a cell that fails" not in "".join(capfd.readouterr())  # Sphinx tells it, once
    done = book.build(root, quiet=True)
    assert done.returncode != 0 and "a cell that fails" in done.check_output
    assert "fine.md: Using cached notebook" in done.check_output  # not run a second time
