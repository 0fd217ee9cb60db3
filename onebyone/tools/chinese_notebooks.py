"""The Chinese exercise notebooks, made at release from the English ones and the book's catalogues.

An exercise notebook is also a page of the book (exercises/<id>/<id>.ipynb), so its Markdown
is already in the Chinese edition's catalogue `locale/zh_CN/LC_MESSAGES/exercises/<id>/<id>.po`,
one entry per paragraph, heading and list item, kept current by `onebyone translations`
(sphinx-intl: a changed English paragraph turns fuzzy). The Chinese notebook is the released
English notebook with

- each Markdown block replaced by its translation (read with MyST's own Markdown parser, so the
  blocks are exactly the entries Sphinx extracted; an untranslated or fuzzy entry stays English,
  as it does on the Chinese page);
- links to the course's chapters pointing at the Chinese edition;
- two lines in the setup cell that make the checks speak Chinese, at the end of its `try:`
  block, so that a kit too old to speak Chinese gets the setup's own "install the kit" message;
- that message (the ImportError a student without torch or the kit sees first) in Chinese: its
  words only, the commands and fields as they are. A changed English message stays English and
  is listed with the untranslated blocks, as a changed paragraph is.

Everything else is the release's: the same cells in the same order, the same code, the same
nbgrader ids, checksums and metadata, so a Chinese submission is graded as an English one.
It is written to exercises/<id>/zh_CN/<id>.ipynb: the same file name as the English notebook,
which is the name nbgrader grades a submission by. The Chinese site offers it for download on
the exercise page (sphinx_notebooks.py).
"""

import dataclasses
import pathlib
import re

from onebyone.tools import environment, kit, translation

ROOT = environment.course_root()
LANGUAGE = translation.LANGUAGE  # "zh_CN": the checks' catalogue and the folder's name
SETUP_ID = "setup"
# What the Chinese setup cell adds to the English one: the checks speak Chinese from here on.
SETUP_LINES = ("from onebyone.checks import language  # 检查的提示用中文 (checks in Chinese)",
               f'language("{LANGUAGE}")')
IMPORT_ERROR = re.compile(r"^except ImportError\b", re.MULTILINE)
# The setup's "install the kit" message, as the release writes it, and its Chinese.
INSTALL_MESSAGE = "".join(f"        {line}\n" for line in (
    """f"{error.name or 'A package'} cannot be imported. This notebook needs numpy, \"""",
    """"torch and the course's kit (the package `onebyone`). If you have no torch, install \"""",
    """"its CPU build first: pip install torch --index-url \"""",
    """"https://download.pytorch.org/whl/cpu ; then install the kit: \"""",
    """f"pip install {KIT}\"""",
))
INSTALL_MESSAGE_ZH = "".join(f"        {line}\n" for line in (
    """f"无法导入 {error.name or '某个包'}。这个笔记本需要 numpy、torch 和课程的工具包\"""",
    """"（`onebyone` 包）。如果还没有 torch，请先安装它的 CPU 版本：pip install torch \"""",
    """"--index-url https://download.pytorch.org/whl/cpu ；然后安装工具包：\"""",
    """f"pip install {KIT}\"""",
))
MYST_EXTENSIONS = {"dollarmath", "amsmath", "colon_fence", "deflist", "substitution"}


@dataclasses.dataclass
class Translated:
    """A Chinese notebook and the English blocks it still holds (no current translation)."""

    notebook: object  # nbformat.NotebookNode
    untranslated: list


def chinese_path(english: pathlib.Path) -> pathlib.Path:
    """exercises/<id>/<id>.ipynb -> exercises/<id>/zh_CN/<id>.ipynb"""
    english = pathlib.Path(english)
    return english.parent / LANGUAGE / english.name


def catalogue_path(assignment, root=ROOT) -> pathlib.Path:
    """The Chinese edition's catalogue of the exercise page (the English release notebook)."""
    return translation.catalogue_folder(root) / "exercises" / assignment / f"{assignment}.po"


def translations(po_path) -> dict:
    """{English: Chinese} of a catalogue's current entries (neither empty nor fuzzy)."""
    from babel.messages.pofile import read_po

    with open(po_path, "rb") as handle:
        return {m.id: m.string for m in read_po(handle)
                if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def _parser():
    """MyST's Markdown parser, set up as the book's _config.yml sets it (parse: extensions)."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    return create_md_parser(MdParserConfig(enable_extensions=MYST_EXTENSIONS), RendererHTML)


def message_id(inline_content: str) -> str:
    """The catalogue's key of a Markdown block, as Sphinx extracts it: the block's source text
    with its line breaks made spaces (sphinx.util.nodes.extract_messages)."""
    return inline_content.replace("\n", " ").strip()


def translate_markdown(source: str, table: dict, parser=None) -> tuple[str, list]:
    """(Chinese Markdown, English blocks without a translation) of one Markdown cell.

    Each paragraph, heading and list item's text is replaced by its translation in one line;
    what frames it (the `##`, the list marker, the indentation), code blocks, math blocks and
    HTML comments stay as they are."""
    tokens = (parser or _parser()).parse(source)
    lines = source.split("\n")
    missing = []
    blocks = [t for t in tokens if t.type == "inline" and t.map]
    for token in sorted(blocks, key=lambda t: t.map[0], reverse=True):
        key = message_id(token.content)
        if not key:
            continue
        if key not in table:
            missing.append(key)
            continue
        start, stop = token.map
        first = token.content.split("\n")[0].strip()
        at = lines[start].find(first)
        if at < 0:  # not where the parser says: leave the block as it is
            missing.append(key)
            continue
        lines[start:stop] = [lines[start][:at] + table[key]]
    return "\n".join(lines), list(reversed(missing))


def chinese_links(text: str, site: str) -> str:
    """Links to the English site's pages made links to the Chinese edition's."""
    site = site.rstrip("/")
    return re.sub(rf"\]\({re.escape(site)}/(?!{translation.EDITION}/)([\w./-]+\.html)",
                  rf"]({site}/{translation.EDITION}/\1", text)


def chinese_setup(source: str) -> tuple[str, list]:
    """(the setup cell's code with the language lines at the end of its try block (indented as
    its last line), or at its end when it has none, and its install message in Chinese;
    the English left untranslated)."""
    found = IMPORT_ERROR.search(source)
    if not found:
        return source.rstrip("\n") + "\n\n" + "\n".join(SETUP_LINES), []
    head = source[:found.start()].rstrip("\n")
    last = head.splitlines()[-1]
    indent = last[:len(last) - len(last.lstrip())]
    added = "".join(f"{indent}{line}\n" for line in SETUP_LINES)
    handler = source[found.start():]
    if INSTALL_MESSAGE in handler:
        return f"{head}\n{added}{handler.replace(INSTALL_MESSAGE, INSTALL_MESSAGE_ZH)}", []
    return f"{head}\n{added}{handler}", [handler]


def translate_notebook(english, table: dict, site: str) -> Translated:
    """The Chinese notebook of a released English notebook (an nbformat notebook, not changed)."""
    import copy

    notebook = copy.deepcopy(english)
    parser, untranslated = _parser(), []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source, missing = translate_markdown(cell.source, table, parser)
            cell.source = chinese_links(cell.source, site)
            untranslated += missing
        elif cell.metadata.get("nbgrader", {}).get("grade_id") == SETUP_ID:
            cell.source, missing = chinese_setup(cell.source)
            untranslated += missing
    return Translated(notebook, untranslated)


def write(assignment, root=ROOT) -> Translated:
    """exercises/<id>/zh_CN/<id>.ipynb from the release and the page's catalogue."""
    import nbformat

    root = pathlib.Path(root)
    english_path = root / "exercises" / assignment / f"{assignment}.ipynb"
    english = nbformat.read(english_path, as_version=4)
    po = catalogue_path(assignment, root)
    table = translations(po) if po.is_file() else {}
    done = translate_notebook(english, table, kit.site_address(root))
    target = chinese_path(english_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(done.notebook) + "\n", encoding="utf-8")
    return done
